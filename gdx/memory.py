"""How much memory an optimizer's state takes: `memory_report`, computed without allocating."""

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp

from gdx.core import GradientTransformation, Params


@dataclasses.dataclass(frozen=True)
class MemoryReport:
    """Optimizer-state memory: one row per state leaf, totals, and bytes per parameter.

    Attributes:
      rows: `(path, shape, dtype name, bytes)` for every state leaf, in tree order.
      state_bytes: total bytes of the optimizer state.
      param_bytes: total bytes of the params.
      num_params: number of parameter elements (every leaf).
      bytes_per_param: `state_bytes / num_params` (0 for an empty tree).
    """

    rows: tuple[tuple[str, tuple[int, ...], str, int], ...]
    state_bytes: int
    param_bytes: int
    num_params: int

    @property
    def bytes_per_param(self) -> float:
        return self.state_bytes / self.num_params if self.num_params else 0.0

    def __str__(self) -> str:
        header = ("state leaf", "shape", "dtype", "bytes")
        body = [(path, str(shape), dtype, f"{size:,}") for path, shape, dtype, size in self.rows]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *body]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(
            f"total: {self.state_bytes:,} bytes of state for {self.num_params:,} params "
            f"({self.param_bytes:,} bytes): {self.bytes_per_param:.3g} bytes/param"
        )
        return "\n".join(lines)


def _nbytes(leaf: Any) -> int:
    return math.prod(leaf.shape) * jnp.dtype(leaf.dtype).itemsize


def memory_report(tx: GradientTransformation, params: Params) -> MemoryReport:
    """Bytes of `tx.init(params)` per state leaf and in total, without allocating anything.

    The state's shapes and dtypes come from `jax.eval_shape(tx.init, params)`,
    so `params` may be real arrays or `jax.ShapeDtypeStruct` values of a model too
    large to materialize.

    Args:
      tx: the optimizer.
      params: the params (arrays or `jax.ShapeDtypeStruct` values).

    Returns:
      A `MemoryReport`; `print(report)` shows a table.
    """
    state = jax.eval_shape(tx.init, params)
    rows = tuple(
        (jax.tree_util.keystr(path), tuple(leaf.shape), jnp.dtype(leaf.dtype).name, _nbytes(leaf))
        for path, leaf in jax.tree_util.tree_leaves_with_path(state)
    )
    param_leaves = jax.tree.leaves(params)
    return MemoryReport(
        rows=rows,
        state_bytes=sum(row[3] for row in rows),
        param_bytes=sum(_nbytes(leaf) for leaf in param_leaves),
        num_params=sum(math.prod(jnp.shape(leaf)) for leaf in param_leaves),
    )
