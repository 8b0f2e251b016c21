"""Gradient checking: `jax.grad` of a user loss against central finite differences in float64."""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


class GradientCheckError(AssertionError):
    """Raised by `check_grads(..., raise_on_failure=True)` when a leaf's gradient is wrong."""


@dataclasses.dataclass(frozen=True)
class LeafCheck:
    """The worst probe of one parameter leaf.

    Attributes:
      path: the leaf's path in the params, e.g. `"['dense']['w']"`.
      relative_error: `|analytic - numeric| / max(|analytic|, |numeric|, atol)`, the worst probe's.
      analytic: the `jax.grad` directional derivative at that probe.
      numeric: the central-difference derivative at that probe.
      probe: `"entry (i, j)"` for a coordinate probe, `"random direction"` otherwise.
    """

    path: str
    relative_error: float
    analytic: float
    numeric: float
    probe: str


@dataclasses.dataclass(frozen=True)
class GradCheckReport:
    """Result of `check_grads`: one `LeafCheck` per floating-point leaf and the tolerance used."""

    leaves: tuple[LeafCheck, ...]
    rtol: float

    @property
    def ok(self) -> bool:
        """True when every leaf's worst relative error is at most `rtol` (NaN fails)."""
        return all(leaf.relative_error <= self.rtol for leaf in self.leaves)

    @property
    def worst(self) -> LeafCheck | None:
        """The leaf with the largest relative error (NaN counts as largest)."""
        if not self.leaves:
            return None
        return max(
            self.leaves, key=lambda leaf: np.inf if np.isnan(leaf.relative_error) else leaf.relative_error
        )

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        lines = [f"gradient check {verdict} (rtol {self.rtol:.1e}, {len(self.leaves)} leaves)"]
        width = max((len(leaf.path) for leaf in self.leaves), default=4)
        for leaf in self.leaves:
            mark = "  " if leaf.relative_error <= self.rtol else "!!"
            lines.append(
                f"{mark} {leaf.path:<{width}}  rel err {leaf.relative_error:.2e}  "
                f"grad {leaf.analytic:+.6e}  finite diff {leaf.numeric:+.6e}  at {leaf.probe}"
            )
        return "\n".join(lines)


def _to_float64(tree: Any) -> Any:
    def cast(x):
        x = jnp.asarray(x)
        return x.astype(jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x

    return jax.tree.map(cast, tree)


def check_grads(
    loss_fn: Callable[..., jax.Array],
    params: Any,
    *args: Any,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    max_entries_per_leaf: int = 8,
    seed: int = 0,
    raise_on_failure: bool = False,
) -> GradCheckReport:
    """Compares `jax.grad(loss_fn)` with central finite differences, in float64, leaf by leaf.

    For each floating-point leaf of `params` it probes up to `max_entries_per_leaf`
    entries (all of them for a small leaf, else a random subset) and one random
    unit direction `v` restricted to that leaf, and compares::

        analytic = <grad loss(p), v>
        numeric  = (loss(p + eps v) - loss(p - eps v)) / (2 eps)
        error    = |analytic - numeric| / max(|analytic|, |numeric|, atol)

    as `jax.test_util.check_grads` does for whole trees, but reporting the worst
    error per leaf, so a wrong `custom_vjp` shows where it is. The check runs
    with 64-bit enabled and casts params and floating-point `args` to float64
    (loss-internal float32 constants would limit the accuracy); the truncation
    error is O(eps^2) and the rounding error O(1e-16 / eps).

    Args:
      loss_fn: `loss_fn(params, *args) -> scalar`.
      params: the pytree to differentiate at.
      *args: further arguments of `loss_fn` (data), held fixed.
      eps: finite-difference step, > 0. Default 1e-6.
      rtol: largest accepted relative error, > 0. Default 1e-5.
      atol: floor of the error's denominator, for derivatives near zero. Default 1e-8.
      max_entries_per_leaf: coordinate probes per leaf, >= 0. Default 8.
      seed: seed of the random probes. Default 0.
      raise_on_failure: raise `GradientCheckError` (with the report) when a leaf fails. Default False.

    Returns:
      A `GradCheckReport` (`.ok`, `.worst`, `.leaves`; `print` it for a table).
    """
    if not eps > 0:
        raise ValueError(f"check_grads: eps must be > 0, got {eps}")
    if not rtol > 0:
        raise ValueError(f"check_grads: rtol must be > 0, got {rtol}")
    if max_entries_per_leaf < 0:
        raise ValueError(f"check_grads: max_entries_per_leaf must be >= 0, got {max_entries_per_leaf}")
    rng = np.random.default_rng(seed)
    # Standard promotion inside the check: a user loss may mix its own float32 constants with float64 params.
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        params64 = _to_float64(params)
        args64 = _to_float64(args)

        def loss64(p):
            return jnp.asarray(loss_fn(p, *args64), jnp.float64)

        grads = jax.jit(jax.grad(loss64))(params64)
        flat_params, treedef = jax.tree_util.tree_flatten_with_path(params64)
        flat_grads = jax.tree.leaves(grads)

        @functools.partial(jax.jit, static_argnums=0)
        def directional_difference(leaf_index, direction, step):
            leaves = [leaf for _, leaf in flat_params]

            def shifted(sign):
                moved = list(leaves)
                moved[leaf_index] = leaves[leaf_index] + sign * step * direction
                return loss64(jax.tree.unflatten(treedef, moved))

            return (shifted(1.0) - shifted(-1.0)) / (2.0 * step)

        checks = []
        for index, ((path, leaf), grad) in enumerate(zip(flat_params, flat_grads, strict=True)):
            if not jnp.issubdtype(leaf.dtype, jnp.floating) or leaf.size == 0:
                continue
            grad = np.asarray(grad)
            probes: list[tuple[str, np.ndarray]] = []
            count = min(max_entries_per_leaf, leaf.size)
            for flat_index in rng.choice(leaf.size, size=count, replace=False):
                direction = np.zeros(leaf.size)
                direction[flat_index] = 1.0
                position = np.unravel_index(flat_index, leaf.shape)
                probes.append((f"entry {tuple(int(i) for i in position)}", direction.reshape(leaf.shape)))
            direction = rng.standard_normal(leaf.shape)
            probes.append(("random direction", direction / max(np.linalg.norm(direction), 1e-300)))
            worst = None
            for probe, direction in probes:
                analytic = float(np.sum(grad * direction))
                numeric = float(directional_difference(index, jnp.asarray(direction), eps))
                scale = max(abs(analytic), abs(numeric), atol)
                error = abs(analytic - numeric) / scale
                if not np.isfinite(analytic) or not np.isfinite(numeric):
                    error = float("nan")
                candidate = LeafCheck(jax.tree_util.keystr(path), error, analytic, numeric, probe)
                if worst is None or not error <= worst.relative_error:
                    worst = candidate
                if np.isnan(error):
                    break
            assert worst is not None
            checks.append(worst)
    report = GradCheckReport(tuple(checks), rtol)
    if raise_on_failure and not report.ok:
        raise GradientCheckError(str(report))
    return report
