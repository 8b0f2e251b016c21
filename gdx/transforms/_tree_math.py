"""Inner products and axpy on pytrees, as optax 0.2.8 computes them (L-BFGS, line searches).

Operation for operation as `optax.tree.vdot`, `optax.tree.add_scale`,
`optax.tree.scale` and `optax.tree.norm(squared=True)`, so float32 results
agree with optax bit for bit; mixed dtypes (a bfloat16 leaf next to a float32
scalar) are promoted explicitly, so the code also runs under strict promotion.
"""

from typing import Any

import jax
import jax.numpy as jnp

from gdx._tree import is_none, promote, promoted, promoted_dtype


def _sum_left_to_right(terms: list[Any]) -> jax.Array:
    # optax: jax.tree.reduce(operator.add, terms, initializer=0), each addition promoted.
    total: Any = 0
    for term in terms:
        total, term = promote(total, term)
        total = total + term
    return jnp.asarray(total)


def _leaf_vdot(a: Any, b: Any) -> jax.Array:
    # optax 0.2.8 calls jnp.vdot(a, b, precision=HIGHEST) under the pinned jax (its
    # `jax.__version__ < '0.7.2'` test compares strings), which conjugates `a`.
    a, b = promote(jnp.asarray(a), jnp.asarray(b))
    return jnp.vdot(a, b, precision=jax.lax.Precision.HIGHEST)


def tree_vdot(tree_x: Any, tree_y: Any) -> jax.Array:
    """`sum_leaves vdot(x, y)` (`x` conjugated), leaves added left to right as optax does."""
    products = jax.tree.map(_leaf_vdot, tree_x, tree_y)
    return _sum_left_to_right(jax.tree.leaves(products))


def tree_real_vdot(tree_x: Any, tree_y: Any) -> jax.Array:
    """`Re <x, y>`: the inner product L-BFGS and the line searches use."""
    return jnp.real(tree_vdot(tree_x, tree_y))


def tree_squared_norm(tree: Any) -> jax.Array:
    """`sum_leaves sum(re(x)**2 + im(x)**2)`, as `optax.tree.norm(tree, squared=True)`."""
    sums = [jnp.sum(jnp.square(leaf.real) + jnp.square(leaf.imag)) for leaf in jax.tree.leaves(tree)]
    return _sum_left_to_right(sums)


def tree_add_scale(tree_x: Any, scalar: Any, tree_y: Any) -> Any:
    """`x + scalar * y` leaf by leaf (`None` leaves of `x` kept), each operation promoted."""
    return jax.tree.map(
        lambda x, y: None if x is None else promoted(jnp.add, x, promoted(jnp.multiply, scalar, y)),
        tree_x,
        tree_y,
        is_leaf=is_none,
    )


def tree_scale(scalar: Any, tree: Any) -> Any:
    """`scalar * x` leaf by leaf, promoted as optax's standard promotion would."""
    return jax.tree.map(lambda x: promoted(jnp.multiply, scalar, x), tree)


def tree_where(condition: jax.Array, tree_x: Any, tree_y: Any) -> Any:
    """`where(condition, x, y)` leaf by leaf (one scalar condition for the whole tree)."""
    return jax.tree.map(lambda x, y: jnp.where(condition, *promote(x, y)), tree_x, tree_y)


def linesearch_scalar_dtype(params: Any) -> Any:
    """A line search's dtype for step sizes and values: the first leaf's real dtype, at least float32.

    optax uses the first leaf's real dtype as it is; gdx widens bfloat16/float16
    to float32 (a bfloat16 objective value has 3 significant digits, too few to
    test a sufficient decrease). Identical to optax for float32 and float64 params.
    """
    first_leaf_dtype = jnp.real(jnp.empty((), jax.tree.leaves(params)[0].dtype)).dtype
    return promoted_dtype(first_leaf_dtype, jnp.float32)
