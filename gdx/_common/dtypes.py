"""Promotion and casting, written to be valid under `jax.numpy_dtype_promotion('strict')`.

gdx mirrors optax's arithmetic operation for operation, so that gdx and optax
produce the same float32 numbers. optax relies on jax's standard promotion;
gdx writes each promotion out with ONE arithmetic language: `promoted(op, *operands)`
computes `op` on the operands cast as standard promotion would cast them for
that one operation; `promoted_py(op, ...)` is the same, except that two Python
numbers are combined in Python (double precision), as optax's `a * b` is.
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


def default_float() -> Any:
    """The dtype jax promotes an integer count to (float32 unless x64 is enabled)."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def promote(*values: Any) -> tuple[Any, ...]:
    """Casts `values` to the dtype optax's standard promotion would give them.

    Python scalars stay Python scalars (weak-typed, they take the arrays'
    dtype); arrays are cast to their common dtype (bfloat16 with float32 ->
    float32), so the code stays valid under strict promotion.
    """
    dtype = promoted_dtype(*values)
    return tuple(v if type(v) in (int, float) else jnp.asarray(v).astype(dtype) for v in values)


def is_python_number(*values: Any) -> bool:
    """Whether every value is a Python `int` or `float` (not a bool, not an array)."""
    return all(type(v) in (int, float) for v in values)


# The Python operator with which optax's expressions combine two Python numbers (in double precision).
_PYTHON_OPS: dict[Any, Callable[..., Any]] = {
    jnp.add: operator.add,
    jnp.subtract: operator.sub,
    jnp.multiply: operator.mul,
    jnp.divide: operator.truediv,
}


def promoted(op: Callable[..., jax.Array], *operands: Any) -> Any:
    """`op(*operands)` promoted as optax's standard promotion promotes that one operation.

    Promotion is per operation, as in optax: in `g + decay * t` with a float32
    `g` and a bfloat16 `t`, the product is rounded to bfloat16 before the sum.
    `op` always runs on jax values (see `promoted_py` for expressions that may
    combine two Python numbers).
    """
    return op(*promote(*operands))


def promoted_py(op: Callable[..., jax.Array], *operands: Any) -> Any:
    """`promoted(op, *operands)`, except that Python numbers are combined in Python (double precision).

    For expressions that optax writes with the operator (`a * b`) on values that
    may be Python floats (hyperparameters) or arrays (state): two Python floats
    give a Python float, as in optax, anything else is `promoted(op, ...)`.
    """
    python_op = _PYTHON_OPS.get(op)
    if python_op is not None and is_python_number(*operands):
        return python_op(*operands)
    return promoted(op, *operands)


def _as_array(x: Any) -> Any:
    """`x` itself if it is an array (NumPy or jax), else `jnp.asarray(x)` (a Python number in a state)."""
    return x if hasattr(x, "astype") else jnp.asarray(x)


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


def dtype_of(leaf: Any) -> Any:
    """The dtype of a state leaf: an array's own, or a Python number's or bool's canonical one."""
    dtype = getattr(leaf, "dtype", None)
    return dtype if dtype is not None else jnp.result_type(leaf)


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


def tree_copy(params: Any) -> Any:
    """A copy of the params for the state (a reference point), so that donating both
    params and state to a jitted step does not donate one buffer twice."""
    return jax.tree.map(jnp.copy, params)


def scalar_dtype(params: Any) -> Any:
    """The highest float dtype among the params' leaves (float32 for a tree without leaves).

    Scalar state of the learning-rate-free optimizers (distance estimates, step
    sizes, loss averages) lives in it. optax initialises it in the lowest one and
    its first step promotes it, so on a tree mixing float32 and bfloat16 leaves
    optax's state changes dtype and `jit`/`lax.scan` loops fail; on trees of a
    single dtype the two agree.
    """
    dtypes = [jnp.result_type(leaf) for leaf in jax.tree.leaves(params)]
    if not dtypes:
        return jnp.dtype(jnp.float32)
    return functools.reduce(promoted_dtype, dtypes)


def linesearch_scalar_dtype(params: Any) -> Any:
    """A line search's dtype for step sizes and values: the first leaf's real dtype, at least float32.

    optax uses the first leaf's real dtype as it is; gdx widens bfloat16/float16
    to float32 (a bfloat16 objective value has 3 significant digits, too few to
    test a sufficient decrease). Identical to optax for float32 and float64 params.
    """
    first_leaf_dtype = jnp.real(jnp.empty((), jax.tree.leaves(params)[0].dtype)).dtype
    return promoted_dtype(first_leaf_dtype, jnp.float32)


def float_count(count: Any) -> Any:
    """`count` as a float, the way optax's standard promotion would see it.

    A Python int becomes a Python float (as optax does, to avoid int32
    overflow); an integer array is cast explicitly to the default float dtype,
    which is what implicit promotion with a Python float gives in optax but is
    an error under strict promotion.
    """
    if isinstance(count, int) and not isinstance(count, bool):
        return float(count)
    if isinstance(count, float):
        return count
    count = jnp.asarray(count)
    if not jnp.issubdtype(count.dtype, jnp.inexact):
        count = count.astype(default_float())
    return count


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
