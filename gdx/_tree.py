"""Tree helpers shared by every transformation.

They mirror the arithmetic of optax's tree utilities operation for operation,
so that gdx and optax produce the same float32 numbers, but are written to be
valid under `jax.numpy_dtype_promotion('strict')`.
"""

import functools
import operator
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_none(x: Any) -> bool:
    """`is_leaf` predicate that keeps `None` leaves (masked or absent params) in tree maps."""
    return x is None


def safe_increment(count: jax.typing.ArrayLike) -> jax.Array:
    """Returns `count + 1`, saturating at the dtype's maximum instead of wrapping.

    An int32 step counter at 2**31 - 1 stays there, so bias corrections and
    schedules stay finite on arbitrarily long runs.
    """
    count = jnp.asarray(count)
    if jnp.issubdtype(count.dtype, jnp.integer):
        max_value = jnp.iinfo(count.dtype).max
    elif jnp.issubdtype(count.dtype, jnp.floating):
        max_value = jnp.finfo(count.dtype).max
    else:  # ValueError, as optax
        raise ValueError(f"safe_increment: count must be an integer or float array, got dtype {count.dtype}")
    max_value = jnp.array(max_value, count.dtype)
    return jnp.where(count < max_value, count + jnp.array(1, count.dtype), max_value)


safe_int32_increment = safe_increment


def zero_count() -> jax.Array:
    """A fresh int32 step counter."""
    return jnp.zeros([], jnp.int32)


def tree_zeros_like(tree: Any, dtype: jax.typing.DTypeLike | None = None) -> Any:
    """Zeros with the structure (and, unless `dtype` is given, the dtypes) of `tree`.

    Args:
      tree: a pytree of arrays.
      dtype: the dtype of every zero leaf; None (default) keeps each leaf's dtype.

    Returns:
      A pytree of zeros with the structure and shapes of `tree`.
    """
    return jax.tree.map(lambda x: jnp.zeros_like(x, dtype=dtype), tree)


def tree_cast(tree: Any, dtype: jax.typing.DTypeLike | None) -> Any:
    """Casts every leaf to `dtype`; `dtype=None` leaves the tree unchanged.

    Args:
      tree: a pytree of arrays.
      dtype: the dtype to cast to, or None to return `tree` as it is.

    Returns:
      The cast pytree.
    """
    if dtype is None:
        return tree
    return jax.tree.map(lambda x: x.astype(dtype), tree)


def promoted_dtype(*dtypes: Any) -> np.dtype:
    """The dtype standard (numpy-like) promotion gives, computed explicitly.

    Under strict promotion `jnp.result_type` refuses bfloat16 + float32;
    gdx casts explicitly to this dtype instead, matching optax's numbers.
    """
    with jax.numpy_dtype_promotion("standard"):
        return np.dtype(jnp.result_type(*dtypes))


def canonical_dtype(dtype: jax.typing.DTypeLike | None) -> Any:
    """`dtype` as jax stores it (float64 -> float32 without x64), `None` kept."""
    return None if dtype is None else jax.dtypes.canonicalize_dtype(dtype)


def promote(*values: Any) -> tuple[Any, ...]:
    """Casts `values` to the dtype optax's standard promotion would give them.

    Python scalars stay Python scalars (weak-typed, they take the arrays'
    dtype); arrays are cast to their common dtype (bfloat16 with float32 ->
    float32), so the code stays valid under strict promotion.
    """
    dtype = promoted_dtype(*values)
    return tuple(v if type(v) in (int, float) else jnp.asarray(v).astype(dtype) for v in values)


def promoted(op: Callable[..., jax.Array], *operands: Any) -> jax.Array:
    """`op(*operands)` promoted as optax's standard promotion promotes that one operation.

    Promotion is per operation, as in optax: in `g + decay * t` with a float32
    `g` and a bfloat16 `t`, the product is rounded to bfloat16 before the sum.
    """
    return op(*promote(*operands))


def cast_like(tree: Any, other_tree: Any) -> Any:
    """Casts each leaf of `tree` to the dtype of the matching `other_tree` leaf.

    State leaves keep the dtype they were initialised with (`accumulator_dtype`,
    or the params'), so a wider grad or an array hyperparameter cannot change
    the state's dtype between steps (which would make `jit`/`scan` recompile or fail).

    Args:
      tree: the pytree to cast (`None` leaves stay `None`).
      other_tree: a pytree with the structure of `tree`; a leaf
        without a dtype (a Python number or bool, which optax's recipes put in
        states) leaves its leaf uncast, as optax's `tree_cast_like`; a Python
        number in `tree` cast to an array reference's dtype becomes an array.

    Returns:
      `tree` with each leaf cast to its reference leaf's dtype.
    """
    # A reference leaf without a dtype (a Python number) leaves its leaf as it is, as optax.
    return jax.tree.map(
        lambda x, ref: x if x is None or not hasattr(ref, "dtype") else _as_array(x).astype(ref.dtype),
        tree,
        other_tree,
        is_leaf=is_none,
    )


def _as_array(x: Any) -> Any:
    """`x` itself if it is an array (NumPy or jax), else `jnp.asarray(x)` (a Python number in a state)."""
    return x if hasattr(x, "astype") else jnp.asarray(x)


def dtype_of(leaf: Any) -> Any:
    """The dtype of a state leaf: an array's own, or a Python number's or bool's canonical one."""
    dtype = getattr(leaf, "dtype", None)
    return dtype if dtype is not None else jnp.result_type(leaf)


def squared_global_norm(tree: Any) -> jax.Array:
    """`sum_leaves sum(|x|**2)`, the squared L2 norm of the tree as one flat vector.

    Operation for operation as `optax.tree.norm(tree, squared=True)`: per-leaf
    sums of squares are added left to right, starting from 0, each addition in
    the standard-promoted dtype of its two operands (two bfloat16 leaves are
    added in bfloat16 before meeting a float32 one, exactly as optax does).
    """
    total: Any = 0
    for leaf in jax.tree.leaves(tree):
        # optax squares re and im of every leaf; for a real leaf `x**2 + 0` is `x**2`, bit for bit.
        squares = (
            jnp.square(leaf.real) + jnp.square(leaf.imag) if jnp.iscomplexobj(leaf) else jnp.square(leaf)
        )
        total, leaf_sum = promote(total, jnp.sum(squares))
        total = total + leaf_sum
    return jnp.asarray(total)


def global_norm(updates: Any) -> jax.Array:
    """`sqrt(sum_leaves sum(|x|**2))`, the L2 norm of the tree as one flat vector (as `optax.tree.norm`)."""
    return jnp.sqrt(squared_global_norm(updates))


def decay_power(decay: Any, count: Any) -> jax.Array:
    """`decay**count` for an integer `count`, computed exactly as optax's `decay**count` is.

    optax writes `decay**count` with a Python float (or float array) `decay` and
    an int32 `count`, which `jnp.power` evaluates in two different ways: for a
    concrete count (an eager call) by binary exponentiation
    (`lax.integer_pow`), for a traced one (under `jit`) as `lax.pow` with the
    integer exponent. The two differ by an ulp for some counts, so gdx picks
    the same one. Written with `lax` so it is valid under strict promotion. A
    Python `decay` is computed in float32 (it would round to 1 in low precision).
    """
    base = jnp.asarray(decay) if _is_float_array(decay) else jnp.asarray(decay, jnp.float32)
    try:
        exponent = operator.index(count)
    except TypeError:  # traced (or batched) count, as `jnp.power` tells them apart
        return jax.lax.pow(base, jnp.asarray(count))
    return jax.lax.integer_pow(base, exponent)


@functools.partial(jax.jit, inline=True)
def bias_correction(moment: Any, decay: jax.typing.ArrayLike, count: jax.Array) -> Any:
    """`moment / (1 - decay**count)`, the division done in each leaf's dtype.

    `decay**count` is computed in float32 (as optax's standard promotion of a
    Python float with an int32 counter does) so it does not round to 1 in low
    precision. Jitted (inlined into an enclosing `jit`) exactly as
    `optax.tree.bias_correction` is: called eagerly, the division by the
    scalar correction then compiles to the same multiplication by its
    reciprocal that XLA emits for optax, so eager gdx gives optax's bits too.
    """
    correction = 1 - decay_power(decay, count)
    return jax.tree.map(lambda t: t / correction.astype(t.dtype), moment)


def _is_float_array(x: Any) -> bool:
    return isinstance(x, jax.Array | np.ndarray) and jnp.issubdtype(x.dtype, jnp.floating)


def abs_sq(x: jax.Array) -> jax.Array:
    """`|x|**2`, written as optax writes it (`(conj(x) * x).real`; `x * x` for real `x`)."""
    return (x.conj() * x).real


def moving_average(new_term: jax.Array, moment: jax.Array, decay: Any) -> jax.Array:
    """`(1 - decay) * new_term + decay * moment`, each operation promoted as in optax."""
    fresh = promoted(jnp.multiply, 1 - decay, new_term)
    kept = promoted(jnp.multiply, decay, moment)
    return promoted(jnp.add, fresh, kept)


def _power_of_norm(g: jax.Array, order: int) -> jax.Array:
    """`g**order` for real `g`; `|g|**order` for complex `g` (optax's per-element norm)."""
    if not jnp.iscomplexobj(g):
        return g**order
    half_order = order / 2
    if float(half_order).is_integer():
        half_order = int(half_order)
    return abs_sq(g) ** half_order


def update_moment(updates: Any, moments: Any, decay: Any, order: int) -> Any:
    """`m <- (1 - decay) * g**order + decay * m`, leaf by leaf (`None` leaves kept).

    Strict-promotion safe: a float32 grad meeting a bfloat16 moment (or a
    float32 array `decay`) is combined as standard promotion would, per operation.
    """
    return jax.tree.map(
        lambda g, m: None if g is None else moving_average(g**order, m, decay),
        updates,
        moments,
        is_leaf=is_none,
    )


def update_moment_per_elem_norm(updates: Any, moments: Any, decay: Any, order: int) -> Any:
    """`v <- (1 - decay) * |g|**order + decay * v`; for complex `g`, `|g|**2 = conj(g) * g`."""
    return jax.tree.map(
        lambda g, v: None if g is None else moving_average(_power_of_norm(g, order), v, decay),
        updates,
        moments,
        is_leaf=is_none,
    )


def check_same_structure(updates: Any, reference: Any, *, who: str, what: str) -> None:
    """Raises `ValueError` naming the first differing path if the two trees differ.

    Called at trace time (structures are static), so it costs nothing per step.
    `who` names the transformation, `what` the reference tree (e.g. "state.mu").
    """
    if jax.tree.structure(updates, is_leaf=is_none) == jax.tree.structure(reference, is_leaf=is_none):
        shapes_differ = _first_shape_difference(updates, reference)
        if shapes_differ is None:
            return
        path, got, expected = shapes_differ
        raise ValueError(
            f"{who}: the updates leaf at {path} has shape {got} but {what} has shape {expected}; "
            "grads must have the structure and shapes of the params the state was built from"
        )
    got_paths = _paths(updates)
    expected_paths = _paths(reference)
    first = next(
        (i for i, (a, b) in enumerate(zip(got_paths, expected_paths)) if a != b),
        min(len(got_paths), len(expected_paths)),
    )
    got_at = got_paths[first] if first < len(got_paths) else "<nothing>"
    expected_at = expected_paths[first] if first < len(expected_paths) else "<nothing>"
    raise ValueError(
        f"{who}: the updates tree differs from {what} at leaf #{first}: updates have "
        f"{got_at}, {what} has {expected_at} ({len(got_paths)} vs {len(expected_paths)} leaves); "
        "grads must have the structure of the params the state was built from"
    )


def _paths(tree: Any) -> list[str]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=is_none)
    return [jax.tree_util.keystr(path) or "<root>" for path, _ in leaves]


def _first_shape_difference(updates: Any, reference: Any) -> tuple[str, Any, Any] | None:
    got, _ = jax.tree_util.tree_flatten_with_path(updates, is_leaf=is_none)
    expected = jax.tree.leaves(reference, is_leaf=is_none)
    for (path, a), b in zip(got, expected):
        shape_a, shape_b = jnp.shape(a) if a is not None else None, jnp.shape(b) if b is not None else None
        if shape_a != shape_b:
            return jax.tree_util.keystr(path) or "<root>", shape_a, shape_b
    return None


def check_float_params(params: Any, *, who: str) -> None:
    """Raises `TypeError` if a params leaf is not floating point (or complex).

    Integer and boolean params cannot take a gradient step; catching them at
    `init` beats a silent truncation of every update to zero.
    """
    leaves, _ = jax.tree_util.tree_flatten_with_path(params)
    for path, leaf in leaves:
        dtype = jnp.result_type(leaf)
        if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.complexfloating)):
            raise TypeError(
                f"{who}: params leaf at {jax.tree_util.keystr(path) or '<root>'} has dtype {dtype}; "
                "optimizers need floating-point params (cast it, e.g. x.astype(jnp.float32), "
                "or keep it out of the optimized tree)"
            )


def explicit_sharding(x: Any) -> Any:
    """The `NamedSharding` of `x` when its mesh has only explicit axes, else `None`.

    optax passes `out_sharding=` to reshapes and contractions under such a mesh
    (jax >= 0.7); on older jax, or a mesh with auto axes, there is none.
    """
    typeof = getattr(jax, "typeof", None)
    if typeof is None:
        return None
    sharding = getattr(typeof(x), "sharding", None)
    if sharding is None or not getattr(getattr(sharding, "mesh", None), "are_all_axes_explicit", False):
        return None
    return sharding
