"""Run a transformation on all params concatenated into one vector (`flatten`)."""

import math
from typing import Any

import jax
import jax.numpy as jnp

from gdx._common.dtypes import promoted_dtype
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, with_extra_args_support


def _concatenate(tree: Any) -> jax.Array:
    """All leaves raveled and concatenated, in their standard-promoted dtype (as optax)."""
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.zeros([0], jnp.float32)
    dtype = promoted_dtype(*(jnp.result_type(leaf) for leaf in leaves))
    return jnp.concatenate([jnp.reshape(leaf, [-1]).astype(dtype) for leaf in leaves])


def _split_like(flat: jax.Array, reference: Any) -> Any:
    """Cuts `flat` back into leaves with the shapes and dtypes of `reference`."""
    leaves, treedef = jax.tree.flatten(reference)
    pieces, offset = [], 0
    for leaf in leaves:
        size = math.prod(jnp.shape(leaf))
        pieces.append(
            jnp.reshape(flat[offset : offset + size], jnp.shape(leaf)).astype(jnp.result_type(leaf))
        )
        offset += size
    return jax.tree.unflatten(treedef, pieces)


def flatten(inner: GradientTransformation) -> GradientTransformation:
    """Runs `inner` on one vector holding every param (fewer, bigger operations).

    Update rule: `u <- unflatten(inner(concat(ravel(u_i))))`; `inner` sees a
    1-D array (params likewise), so its state is a few long vectors. Cheaper
    for trees of many small leaves, at the cost of one copy in and one out.
    Leaves of different dtypes are concatenated in their promoted dtype (as
    optax); gdx casts each returned update back to its grad's dtype (optax
    returns the promoted dtype, e.g. float32 for a bfloat16 leaf next to float32 ones).

    Args:
      inner: the transformation to run on the flat vector.

    Returns:
      A `GradientTransformation` whose state is `inner`'s state for the flat
      vector, as `optax.flatten`.
    """
    inner = with_extra_args_support(inner)

    def init(params):
        return inner.init(_concatenate(params))

    def update(updates, state, params=None, **extra_args):
        flat_params = None if params is None else _concatenate(params)
        flat_updates, state = inner.update(_concatenate(updates), state, flat_params, **extra_args)
        return _split_like(flat_updates, updates), state

    return GradientTransformationExtraArgs(init, update)
