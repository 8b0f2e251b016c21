"""Arithmetic, reductions and norms on pytrees: the implementations behind `gdx.tree` / `gdx.tree_utils`.

There is one optax-ordered sum, `left_to_right_sum`: `tree_sum`, `tree_vdot`
and the squared L2 norm all add their per-leaf values with it.

Each function computes, operation for operation, what optax 0.2.8's
`optax.tree.<name>` computes (the same leaf order, the same initial 0 of a
sum, the same promotions), so results agree with optax bit for bit. Where
leaves of different dtypes meet, the operation runs under jax's standard
promotion, as optax's does, whatever promotion mode the caller has set: the
functions stay valid under `jax.numpy_dtype_promotion('strict')` and give
optax's dtypes there too.
"""

import functools
import operator
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from gdx._common.dtypes import is_none, promote

_F = TypeVar("_F", bound=Callable[..., Any])


def _standard_promotion(fn: _F) -> _F:
    """Runs `fn` under jax's standard promotion, the mode optax's arithmetic is written for."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with jax.numpy_dtype_promotion("standard"):
            return fn(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def left_to_right_sum(values: Any) -> Any:
    """`0 + v_1 + v_2 + ...`, added left to right, each addition in its operands' standard-promoted dtype.

    optax's order: `jax.tree.reduce(operator.add, values, initializer=0)`. Two
    bfloat16 values are added in bfloat16 before meeting a float32 one, exactly
    as optax does. Valid under strict promotion. `0` (a Python int) if `values` is empty.
    """
    total: Any = 0
    for value in values:
        total, value = promote(total, value)
        total = total + value
    return total


def abs_sq(x: jax.Array) -> jax.Array:
    """`|x|**2`, written as optax writes it (`(conj(x) * x).real`; `x * x` for real `x`)."""
    return (x.conj() * x).real


def squared_global_norm(tree: Any) -> jax.Array:
    """`sum_leaves sum(|x|**2)`, the squared L2 norm of the tree as one flat vector.

    Operation for operation as `optax.tree.norm(tree, squared=True)`: per-leaf
    sums of squares are added by `left_to_right_sum`.
    """
    # optax squares re and im of every leaf; for a real leaf `x**2 + 0` is `x**2`, bit for bit.
    return jnp.asarray(
        left_to_right_sum(
            jnp.sum(
                jnp.square(leaf.real) + jnp.square(leaf.imag) if jnp.iscomplexobj(leaf) else jnp.square(leaf)
            )
            for leaf in jax.tree.leaves(tree)
        )
    )


def global_norm(updates: Any) -> jax.Array:
    """`sqrt(sum_leaves sum(|x|**2))`, the L2 norm of the tree as one flat vector (as `optax.tree.norm`)."""
    return jnp.sqrt(squared_global_norm(updates))


@_standard_promotion
def tree_add(tree_x: Any, tree_y: Any, *other_trees: Any) -> Any:
    """Adds two or more pytrees leaf by leaf.

    Rule: `out = 0 + x + y + ...` for each leaf, added left to right.

    Args:
      tree_x: the first pytree.
      tree_y: the second pytree, with the structure of `tree_x`.
      *other_trees: further pytrees to add, same structure.

    Returns:
      The leaf-wise sum.
    """
    return jax.tree.map(lambda *leaves: sum(leaves), tree_x, tree_y, *other_trees)


@_standard_promotion
def tree_sub(tree_x: Any, tree_y: Any) -> Any:
    """Subtracts two pytrees leaf by leaf: `out = x - y`.

    Args:
      tree_x: the first pytree.
      tree_y: the pytree to subtract, with the structure of `tree_x`.

    Returns:
      The leaf-wise difference.
    """
    return jax.tree.map(operator.sub, tree_x, tree_y)


@_standard_promotion
def tree_mul(tree_x: Any, tree_y: Any) -> Any:
    """Multiplies two pytrees leaf by leaf: `out = x * y`.

    Args:
      tree_x: the first pytree.
      tree_y: the second pytree, with the structure of `tree_x`.

    Returns:
      The leaf-wise product.
    """
    return jax.tree.map(operator.mul, tree_x, tree_y)


@_standard_promotion
def tree_div(tree_x: Any, tree_y: Any) -> Any:
    """Divides two pytrees leaf by leaf: `out = x / y`.

    Args:
      tree_x: the numerators.
      tree_y: the denominators, with the structure of `tree_x`.

    Returns:
      The leaf-wise quotient.
    """
    return jax.tree.map(operator.truediv, tree_x, tree_y)


@_standard_promotion
def tree_scale(scalar: jax.typing.ArrayLike, tree: Any) -> Any:
    """Multiplies every leaf by one scalar: `out = scalar * x`.

    Args:
      scalar: the factor (a number or a scalar array).
      tree: a pytree.

    Returns:
      The scaled pytree, with the structure of `tree`.
    """
    return jax.tree.map(lambda x: scalar * x, tree)


@_standard_promotion
def tree_add_scale(tree_x: Any, scalar: jax.typing.ArrayLike, tree_y: Any) -> Any:
    """Adds a scaled pytree to another (an axpy): `out = x + scalar * y`, leaf by leaf.

    Args:
      tree_x: the first pytree (`None` leaves stay `None`).
      scalar: the factor of `tree_y`.
      tree_y: the pytree to scale and add, with the structure of `tree_x`.

    Returns:
      The pytree `x + scalar * y`.
    """
    scalar = jnp.asarray(scalar)
    return jax.tree.map(lambda x, y: None if x is None else x + scalar * y, tree_x, tree_y, is_leaf=is_none)


def _leaf_vdot(a: Any, b: Any) -> jax.Array:
    # optax 0.2.8 takes its `jnp.vdot` branch under the pinned jax: its `jax.__version__ < '0.7.2'`
    # test compares strings, and '0.10.2' < '0.7.2'. vdot conjugates `a`.
    return jnp.vdot(jnp.asarray(a), jnp.asarray(b), precision=jax.lax.Precision.HIGHEST)


@_standard_promotion
def tree_vdot(tree_x: Any, tree_y: Any) -> jax.typing.ArrayLike:
    """The inner product of two pytrees seen as flat vectors, `x` conjugated.

    Rule: `out = 0 + sum_leaves vdot(x, y)`, leaves added left to right, each
    `vdot` at the highest matmul precision.

    Args:
      tree_x: the first pytree (conjugated if complex).
      tree_y: the second pytree, with the structure of `tree_x`.

    Returns:
      A scalar.
    """
    products = jax.tree.map(_leaf_vdot, tree_x, tree_y)
    return left_to_right_sum(jax.tree.leaves(products))


def array_vdot(tree_x: Any, tree_y: Any) -> jax.Array:
    """`tree_vdot`, always as an array (0 for trees without leaves)."""
    return jnp.asarray(tree_vdot(tree_x, tree_y))


def tree_real_vdot(tree_x: Any, tree_y: Any) -> jax.Array:
    """`Re <x, y>`: the inner product L-BFGS and the line searches use."""
    return jnp.real(array_vdot(tree_x, tree_y))


@_standard_promotion
def tree_sum(tree: Any, associative_reduction: bool = False) -> jax.typing.ArrayLike:
    """The sum of all entries of all leaves.

    Rule: `out = 0 + sum(leaf_1) + sum(leaf_2) + ...`, left to right.

    Args:
      tree: a pytree.
      associative_reduction: add the per-leaf sums as a balanced tree
        (`jax.tree.reduce_associative`), which can compile faster for huge
        pytrees but changes the order of the additions (and so the last bits).
        Default False.

    Returns:
      A scalar.
    """
    sums = jax.tree.map(jnp.sum, tree)
    if associative_reduction:
        return jax.tree.reduce_associative(operator.add, sums, identity=0)
    return left_to_right_sum(jax.tree.leaves(sums))


def tree_abs_sum(tree: Any) -> jax.Array:
    """The L1 norm `sum_leaves sum(|x|)`, as `optax.tree.sum(jax.tree.map(jnp.abs, tree))`, as an array."""
    return jnp.asarray(left_to_right_sum(jnp.sum(jnp.abs(leaf)) for leaf in jax.tree.leaves(tree)))


def _leaf_reduction(reduce: Callable[[jax.Array], jax.Array]) -> Callable[[Any], Any]:
    # An empty leaf has no max/min: it drops out of the reduction (None is an empty subtree).
    return lambda x: None if jnp.size(x) == 0 else reduce(x)


@_standard_promotion
def tree_max(tree: Any) -> jax.typing.ArrayLike:
    """The largest entry over all leaves (`-inf` for a pytree without entries).

    Args:
      tree: a pytree.

    Returns:
      A scalar.
    """
    maxes = jax.tree.map(_leaf_reduction(jnp.max), tree)
    return jax.tree.reduce(jnp.maximum, maxes, initializer=-float("inf"))


@_standard_promotion
def tree_min(tree: Any) -> jax.typing.ArrayLike:
    """The smallest entry over all leaves (`inf` for a pytree without entries).

    Args:
      tree: a pytree.

    Returns:
      A scalar.
    """
    mins = jax.tree.map(_leaf_reduction(jnp.min), tree)
    return jax.tree.reduce(jnp.minimum, mins, initializer=float("inf"))


def tree_size(tree: Any) -> int:
    """The total number of entries over all leaves.

    Args:
      tree: a pytree.

    Returns:
      A Python int.
    """
    return sum(jnp.size(leaf) for leaf in jax.tree.leaves(tree))


def tree_conj(tree: Any) -> Any:
    """The complex conjugate of every leaf.

    Args:
      tree: a pytree.

    Returns:
      A pytree with the structure of `tree`.
    """
    return jax.tree.map(jnp.conj, tree)


def tree_real(tree: Any) -> Any:
    """The real part of every leaf.

    Args:
      tree: a pytree.

    Returns:
      A pytree with the structure of `tree`.
    """
    return jax.tree.map(jnp.real, tree)


def _abs_sq(x: Any) -> jax.Array:
    return jnp.square(x.real) + jnp.square(x.imag)


@_standard_promotion
def tree_norm(tree: Any, ord: int | str | float | None = None, squared: bool = False) -> jax.Array:
    """The vector norm of a pytree seen as one flat vector.

    Rule::

        ord None or 2:  sqrt(sum_leaves sum(re(x)**2 + im(x)**2))
        ord 1:          sum_leaves sum(|x|)
        ord inf:        max_leaves max(|x|)      (also 'inf' or 'infinity')

    Args:
      tree: a pytree.
      ord: the order of the norm: None (default) or 2, 1, or `inf`.
      squared: return the norm squared. Default False.

    Returns:
      A scalar array.

    Raises:
      ValueError: if `ord` is not one of these.
    """
    if ord is None or ord == 2:
        squared_norm = squared_global_norm(tree)
        return jnp.array(squared_norm if squared else jnp.sqrt(squared_norm))
    if ord == 1:
        norm = tree_sum(jax.tree.map(jnp.abs, tree))
    elif ord == jnp.inf or ord in ("inf", "infinity"):
        norm = tree_max(jax.tree.map(jnp.abs, tree))
    else:
        raise ValueError(f"tree_norm: ord must be None, 1, 2 or inf (or 'inf'), got {ord!r}")
    return jnp.array(_abs_sq(jnp.asarray(norm)) if squared else norm)


@_standard_promotion
def tree_where(condition: jax.typing.ArrayLike, tree_x: Any, tree_y: Any) -> Any:
    """Picks `x` where `condition` holds and `y` elsewhere, leaf by leaf: `where(condition, x, y)`.

    Args:
      condition: a boolean (scalar, or broadcastable to every leaf).
      tree_x: the pytree picked where `condition` is True.
      tree_y: the pytree picked elsewhere, with the structure of `tree_x`.

    Returns:
      A pytree with the structure of `tree_x`.
    """
    return jax.tree.map(lambda x, y: jnp.where(condition, x, y), tree_x, tree_y)


@_standard_promotion
def tree_clip(
    tree: Any,
    min_value: jax.typing.ArrayLike | None = None,
    max_value: jax.typing.ArrayLike | None = None,
) -> Any:
    """Clips every entry to `[min_value, max_value]`, leaf by leaf (`jnp.clip`).

    Args:
      tree: a pytree.
      min_value: the lower bound; None (default) for none.
      max_value: the upper bound; None (default) for none.

    Returns:
      A pytree with the structure of `tree`.
    """
    return jax.tree.map(lambda x: jnp.clip(x, min_value, max_value), tree)


@_standard_promotion
def tree_allclose(
    a: Any,
    b: Any,
    rtol: jax.typing.ArrayLike = 1e-05,
    atol: jax.typing.ArrayLike = 1e-08,
    equal_nan: bool = False,
) -> Any:
    """Whether two pytrees are equal entry by entry within a tolerance (`jnp.allclose` on every leaf).

    Rule: `|a - b| <= atol + rtol * |b|` for every entry of every leaf.

    Args:
      a: a pytree.
      b: a pytree with the structure of `a`.
      rtol: relative tolerance, >= 0. Default 1e-5.
      atol: absolute tolerance, >= 0. Default 1e-8.
      equal_nan: count NaNs in the same place as equal. Default False.

    Returns:
      A boolean (a scalar array, or True for pytrees without leaves).
    """
    close = jax.tree.map(lambda x, y: jnp.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), a, b)
    return functools.reduce(operator.and_, jax.tree.leaves(close), True)


def nodes_of_type(tree: Any, node_type: type) -> list[Any]:
    """The nodes of `tree` that are instances of `node_type` (a state class), in leaf order.

    How `get_ema_params`, `master_params` and `diagnostics.metrics` find their
    wrapper's state inside a composed optimizer state.
    """
    is_node = lambda x: isinstance(x, node_type)  # noqa: E731
    return [node for node in jax.tree.leaves(tree, is_leaf=is_node) if is_node(node)]
