"""Inner products and axpy on pytrees for L-BFGS and the line searches.

The tree arithmetic itself is `gdx._tree_math`'s (operation for operation as
`optax.tree.vdot`, `optax.tree.add_scale`, `optax.tree.scale`,
`optax.tree.where` and `optax.tree.norm(squared=True)`); this module adds
the real inner product and the line searches' scalar dtype.
"""

from typing import Any

import jax
import jax.numpy as jnp

from gdx import _tree_math
from gdx._tree import promoted_dtype
from gdx._tree import squared_global_norm as tree_squared_norm
from gdx._tree_math import tree_add_scale, tree_scale, tree_where

__all__ = [
    "linesearch_scalar_dtype",
    "tree_add_scale",
    "tree_real_vdot",
    "tree_scale",
    "tree_squared_norm",
    "tree_vdot",
    "tree_where",
]


def tree_vdot(tree_x: Any, tree_y: Any) -> jax.Array:
    """`sum_leaves vdot(x, y)` (`x` conjugated), as `gdx.tree.vdot`, always as an array."""
    return jnp.asarray(_tree_math.tree_vdot(tree_x, tree_y))


def tree_real_vdot(tree_x: Any, tree_y: Any) -> jax.Array:
    """`Re <x, y>`: the inner product L-BFGS and the line searches use."""
    return jnp.real(tree_vdot(tree_x, tree_y))


def linesearch_scalar_dtype(params: Any) -> Any:
    """A line search's dtype for step sizes and values: the first leaf's real dtype, at least float32.

    optax uses the first leaf's real dtype as it is; gdx widens bfloat16/float16
    to float32 (a bfloat16 objective value has 3 significant digits, too few to
    test a sufficient decrease). Identical to optax for float32 and float64 params.
    """
    first_leaf_dtype = jnp.real(jnp.empty((), jax.tree.leaves(params)[0].dtype)).dtype
    return promoted_dtype(first_leaf_dtype, jnp.float32)
