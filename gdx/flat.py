"""Flat-params mode: params, grads and optimizer state live as one flat buffer per dtype.

When a model has thousands of small parameter leaves, a tree-shaped training
step pays per leaf: one kernel per leaf per transformation, and compile time
that grows with the leaf count. Flat mode keeps the params as one 1-D buffer per
dtype (`{"float32": f32[N], "bfloat16": bf16[M]}`, a plain pytree) across
steps; the model sees its tree through `unravel` inside its own jit, the
gradient comes out flat from autodiff, and the optimizer runs on a handful of
big buffers::

    flat, unravel = gdx.flat.ravel(params)        # once, outside jit
    opt_state = tx.init(flat)
    step = gdx.flat.train_step(loss_fn, tx, unravel)   # jitted, donates flat and state
    for batch in data:
        flat, opt_state, loss = step(flat, opt_state, batch)
    params = unravel(flat)                        # a tree again: checkpoints, Flax

Why it compiles fast: `unravel` slices each leaf with `lax.dynamic_slice` at
an int32 offset that is *runtime data* (the leaf of the `Unravel` pytree, passed
to the jitted step as an argument), so XLA emits one kernel per distinct leaf
size instead of one per static offset; its VJP is a `jax.custom_vjp` whose
backward pass concatenates the leaf cotangents (two levels past 128 leaves), so
the flat gradient is built with no pad / dynamic-update-slice chain.

Which optimizers: element-wise ones and global reductions (sgd, momentum, the
Adam family, rmsprop, adagrad, lion, `clip_by_global_norm`, schedules) give the
same numbers as on the tree. Per-leaf reductions (lamb, lars, novograd,
fromage, adafactor, sm3, trust ratios, block norms, `centralize`) would reduce
over a whole buffer instead of a leaf; `train_step` rejects them (it probes
`tx` with `check_optimizer`), and `gdx.fuse(tx)` on tree params is the fast path
for them. Masks given as per-leaf pytrees do not apply to flat buffers either.

Limits: a flat buffer is one array, so it is replicated (or sharded as a whole);
params sharded leaf by leaf over a mesh should stay tree-shaped (use
`gdx.fuse`). `pmap` with `lax.pmean` of the flat grads works as for any pytree.
"""

import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from gdx.core import GradientTransformation, OptState, Params, apply_updates

Flat = dict[str, jax.Array]
"""Flat params (or grads, or a state field): one 1-D buffer per dtype name."""


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _split(buffer: jax.Array, offsets: tuple, sizes: tuple[int, ...]) -> tuple[jax.Array, ...]:
    """The pieces `buffer[offsets[i] : offsets[i] + sizes[i]]`, sliced at runtime offsets."""
    # Offsets are never negative: skipping the wrap-around keeps each slice one op.
    return tuple(
        lax.dynamic_slice(buffer, (offset,), (size,), allow_negative_indices=False)
        for offset, size in zip(offsets, sizes)
    )


def _split_fwd(buffer, offsets, sizes):
    return _split(buffer, offsets, sizes), len(offsets)


# Cotangents are concatenated in groups of this many pieces, then the groups (see _split_bwd).
_CONCAT_GROUP = 128


def _split_bwd(sizes, count, cotangents):
    # The pieces tile the buffer in order, so its cotangent is their concatenation,
    # instead of autodiff's chain of pad / dynamic-update-slice per piece. With many
    # pieces it is done in two levels: XLA:CPU compiles one concatenate of 2000
    # operands ~1 s slower than 16 of 128 plus one of 16 (measured, 2000-leaf MLP).
    # The barrier keeps XLA from merging the levels back into one concatenate.
    del sizes
    pieces = [jnp.ravel(c) for c in cotangents]
    if len(pieces) > _CONCAT_GROUP:
        starts = range(0, len(pieces), _CONCAT_GROUP)
        groups = [jnp.concatenate(pieces[i : i + _CONCAT_GROUP]) for i in starts]
        pieces = list(lax.optimization_barrier(groups))
    return jnp.concatenate(pieces), (None,) * count


_split.defvjp(_split_fwd, _split_bwd)


@jax.tree_util.register_pytree_node_class
class Unravel:
    """`unravel(flat) -> params tree`; built by `ravel`, a pytree of int32 offsets.

    The leaf offsets are the only pytree leaves (`{dtype name: (int32 scalar,
    ...)}`, one scalar per leaf); tree structure, shapes and dtypes are static.
    Pass `unravel` as an argument of your jitted step (as `train_step` does)
    so the offsets are runtime data and XLA shares one slicing kernel per
    distinct leaf size. Closed over (constant offsets) it gives the same
    numbers but compiles like static slices: measured 10-30x slower to compile
    at 100+ leaves. Scalars, not one int32 array: slicing an offsets array
    inside the program compiled ~8x slower than scalar arguments (XLA:CPU).
    """

    def __init__(self, treedef: Any, shapes: tuple, dtypes: tuple, offsets: Mapping[str, Any]):
        self.treedef = treedef
        self.shapes = shapes
        self.dtypes = dtypes
        self.offsets = dict(offsets)

    def tree_flatten(self):
        return (self.offsets,), (self.treedef, self.shapes, self.dtypes)

    @classmethod
    def tree_unflatten(cls, aux, children):
        treedef, shapes, dtypes = aux
        return cls(treedef, shapes, dtypes, children[0])

    def layout(self) -> dict[str, list[int]]:
        """For each dtype name, the indices (in tree-leaf order) of the leaves in its buffer."""
        groups: dict[str, list[int]] = {}
        for index, dtype in enumerate(self.dtypes):
            groups.setdefault(dtype, []).append(index)
        return groups

    def sizes(self) -> dict[str, int]:
        """The length of each flat buffer, by dtype name."""
        return {
            dtype: sum(int(np.prod(self.shapes[i], dtype=np.int64)) for i in indices)
            for dtype, indices in self.layout().items()
        }

    def __call__(self, flat: Mapping[str, Any]) -> Params:
        """Returns the params tree viewed from `flat` (cheap inside jit; also works outside)."""
        _check_flat(flat, self.sizes(), "flat")
        leaves: list[Any] = [None] * len(self.shapes)
        for dtype, indices in self.layout().items():
            offsets = tuple(self.offsets[dtype])
            sizes = tuple(int(np.prod(self.shapes[i], dtype=np.int64)) for i in indices)
            pieces: Any = _split(flat[dtype], offsets, sizes)
            for index, piece in zip(indices, pieces):
                leaves[index] = piece.reshape(self.shapes[index])
        return jax.tree.unflatten(self.treedef, leaves)

    def __repr__(self) -> str:
        return f"Unravel({len(self.shapes)} leaves, buffers={self.sizes()})"


def _check_flat(flat: Any, sizes: dict[str, int], name: str) -> None:
    if not isinstance(flat, Mapping):
        raise TypeError(f"`{name}` must be a dict of flat buffers by dtype name, got {type(flat).__name__}.")
    if set(flat) != set(sizes):
        raise ValueError(
            f"`{name}` has buffers {sorted(flat)} but this unravel expects {sorted(sizes)}; "
            "use the `unravel` returned by the `ravel` call that made these buffers."
        )
    for dtype, size in sizes.items():
        shape, buffer_dtype = jnp.shape(flat[dtype]), jnp.result_type(flat[dtype])
        if shape != (size,) or buffer_dtype.name != dtype:
            raise ValueError(
                f"`{name}[{dtype!r}]` is {buffer_dtype.name}{list(shape)}, expected {dtype}[{size}]."
            )


def ravel(params: Params) -> tuple[Flat, Unravel]:
    """Packs a params tree into one flat buffer per dtype; returns `(flat, unravel)`.

    Leaves are concatenated in tree-leaf order (`jax.tree.leaves`), grouped by
    dtype (bfloat16 and float32 are never mixed). The layout is deterministic,
    so `ravel(unravel(flat))` resumes from a checkpointed tree with the same
    layout (and the same optimizer state).

    Args:
      params: a non-empty pytree of floating-point arrays.

    Returns:
      `flat`, `{dtype name: 1-D buffer}` (a plain pytree: apply any element-wise
      gdx optimizer to it), and `unravel`, the `Unravel` that views it as `params`.

    Raises:
      ValueError: `params` has no leaves.
      TypeError: a leaf is not a floating-point array (the message names its path).
    """
    paths_and_leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    if not paths_and_leaves:
        raise ValueError("ravel(params): `params` has no array leaves; flat mode needs at least one.")
    shapes, dtypes = [], []
    for path, leaf in paths_and_leaves:
        where = jax.tree_util.keystr(path) or "<root>"
        if not hasattr(leaf, "dtype") or not hasattr(leaf, "shape"):
            raise TypeError(f"ravel(params): leaf params{where} is a {type(leaf).__name__}, not an array.")
        if not jnp.issubdtype(leaf.dtype, jnp.floating):
            raise TypeError(
                f"ravel(params): leaf params{where} has dtype {leaf.dtype}; flat mode packs floating-point "
                "params only (keep integer/bool leaves, e.g. step counters, outside the params)."
            )
        shapes.append(tuple(leaf.shape))
        dtypes.append(jnp.dtype(leaf.dtype).name)
    leaves = [leaf for _, leaf in paths_and_leaves]
    unravel = Unravel(treedef, tuple(shapes), tuple(dtypes), {})
    flat: Flat = {}
    for dtype, indices in unravel.layout().items():
        sizes = [int(np.prod(shapes[i], dtype=np.int64)) for i in indices]
        if sum(sizes) >= 2**31:
            raise ValueError(
                f"ravel(params): the {dtype} params have {sum(sizes)} elements, over int32 offsets."
            )
        unravel.offsets[dtype] = tuple(jnp.asarray(o, jnp.int32) for o in np.cumsum([0, *sizes[:-1]]))
        flat[dtype] = jnp.concatenate([jnp.ravel(leaves[i]) for i in indices])
    return flat, unravel


def _probe_trees() -> tuple[dict[str, jax.Array], list[dict[str, jax.Array]]]:
    # A matrix large enough for adafactor to factor it, a vector and a scalar, with
    # different norms, so any per-leaf (or per-row) reduction changes the updates.
    rng = np.random.default_rng(0)

    def tree(scale: float) -> dict[str, jax.Array]:
        return {
            "matrix": jnp.asarray(scale * rng.standard_normal((128, 129)), jnp.float32),
            "scalar": jnp.asarray(0.1 * scale * rng.standard_normal(()), jnp.float32),
            "vector": jnp.asarray(7.0 * scale * rng.standard_normal((9,)), jnp.float32),
        }

    return tree(1.0), [tree(0.01), tree(0.02)]


def check_optimizer(tx: GradientTransformation, *, rtol: float = 1e-4) -> None:
    """Raises `ValueError` if `tx` on one flat buffer does not match `tx` on the tree.

    Runs two steps of `tx` on a small probe tree (a 128x129 matrix, a vector
    and a scalar with different norms), once on the tree and once on its flat
    buffer, and compares the updates. Element-wise optimizers and global
    reductions pass; per-leaf reductions (lamb, lars, novograd, fromage,
    adafactor, sm3, trust ratio, block norms) fail, because on a flat buffer
    they would reduce over all params at once.

    Args:
      tx: the transformation to check.
      rtol: relative tolerance of the comparison (global norms sum in another order).
    """
    params, grads = _probe_trees()

    @jax.jit
    def both(params, grads):
        flat, unravel = ravel(params)
        tree_state, flat_state = tx.init(params), tx.init(flat)
        tree_params, flat_params, out = params, flat, []
        for g in grads:
            tree_updates, tree_state = tx.update(g, tree_state, tree_params)
            flat_updates, flat_state = tx.update(ravel(g)[0], flat_state, flat_params)
            tree_params = apply_updates(tree_params, tree_updates)
            flat_params = apply_updates(flat_params, flat_updates)
            out.append((tree_updates, unravel(flat_updates)))
        return out

    try:
        results = both(params, grads)
    except Exception as error:  # the probe cannot call every tx (e.g. lbfgs needs value_fn)
        raise ValueError(
            f"flat mode: could not check `tx` on a probe tree ({type(error).__name__}: {error}); "
            "if you know it is element-wise, pass check=False."
        ) from error
    for step, (tree_updates, flat_updates) in enumerate(results):
        for name in tree_updates:
            expected, got = np.asarray(tree_updates[name]), np.asarray(flat_updates[name])
            atol = rtol * float(np.max(np.abs(expected), initial=0.0))
            if not np.allclose(got, expected, rtol=rtol, atol=atol):
                raise ValueError(
                    f"flat mode: `tx` gives different updates on a flat buffer than on the tree "
                    f"(leaf {name!r}, step {step + 1}): it reduces per leaf (lamb, lars, novograd, "
                    "fromage, adafactor, sm3, trust ratio, block norms, ...), and on one flat buffer it "
                    "would reduce over all params. Use gdx.fuse(tx) on tree params instead."
                )


class TrainStep:
    """A jitted training step for flat params that donates params and optimizer state.

    `step(flat, opt_state, *batch) -> (flat, opt_state, loss)`; the inputs
    `flat` and `opt_state` are donated (their buffers are reused for the
    outputs: do not use them after the call). `step.lower(flat, opt_state,
    *batch)` gives the `jax.stages.Lowered` for compile-time and memory analysis.
    """

    def __init__(self, jitted: Any, unravel: Unravel):
        self.jitted = jitted
        self.unravel = unravel

    def __call__(self, flat: Flat, opt_state: OptState, *batch: Any) -> tuple[Flat, OptState, Any]:
        return self.jitted(flat, opt_state, self.unravel, *batch)

    def lower(self, flat: Flat, opt_state: OptState, *batch: Any) -> Any:
        return self.jitted.lower(flat, opt_state, self.unravel, *batch)


def train_step(
    loss_fn: Callable[..., Any],
    tx: GradientTransformation,
    unravel: Unravel,
    *,
    has_aux: bool = False,
    check: bool = True,
) -> TrainStep:
    """Returns a jitted, donated training step on flat params.

    The step computes, in one compiled program::

        loss, grads = value_and_grad(lambda f: loss_fn(unravel(f), *batch))(flat)
        updates, opt_state = tx.update(grads, opt_state, flat)
        flat = flat + updates

    with `unravel` passed as an argument (runtime offsets) and `flat`,
    `opt_state` donated.

    Args:
      loss_fn: `loss_fn(params_tree, *batch) -> loss` (or `(loss, aux)` with `has_aux`).
      tx: the optimizer; its state comes from `tx.init(flat)`.
      unravel: the `Unravel` from `ravel(params)`.
      has_aux: `loss_fn` returns `(loss, aux)`; the step then returns it as its third value.
      check: probe `tx` with `check_optimizer` and reject per-leaf reductions (default True).

    Returns:
      A `TrainStep`: `step(flat, opt_state, *batch) -> (flat, opt_state, loss)`.
    """
    if not isinstance(unravel, Unravel):
        raise TypeError(f"train_step: `unravel` must be the Unravel from gdx.flat.ravel, got {unravel!r}.")
    if check:
        check_optimizer(tx)

    def step(flat: Flat, opt_state: OptState, unravel: Unravel, *batch: Any):
        value, grads = jax.value_and_grad(lambda f: loss_fn(unravel(f), *batch), has_aux=has_aux)(flat)
        updates, opt_state = tx.update(grads, opt_state, flat)
        return apply_updates(flat, updates), opt_state, value

    return TrainStep(jax.jit(step, donate_argnums=(0, 1)), unravel)


__all__ = ["Flat", "TrainStep", "Unravel", "check_optimizer", "ravel", "train_step"]


def __dir__() -> list[str]:
    # `gdx.flat` is this module: `dir()` lists its API, not what it imports (jax, functools, typing).
    return sorted(__all__)
