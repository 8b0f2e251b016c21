"""Normalising the whole update to unit global norm (`normalize`, SAM's adversarial direction).

Not to be confused with `gdx.transforms.normalization` (per-leaf centring and
`normalize_by_update_norm`, which also scales by a learning rate).
"""

import jax
import jax.numpy as jnp

from gdx._common.dtypes import promoted
from gdx._common.tree_math import global_norm
from gdx.core import EmptyState, GradientTransformation, GradientTransformationExtraArgs

NormalizeState = EmptyState


def _divide_by_norm(g: jax.Array, norm: jax.Array) -> jax.Array:
    return promoted(jnp.divide, g, norm).astype(g.dtype)


def normalize() -> GradientTransformation:
    """Divides the updates by their global L2 norm: `u <- u / ||u||_2` (norm over all leaves).

    This is `optax.contrib.normalize`, the step SAM uses to build its
    adversarial perturbation (`chain(normalize(), sgd(rho))`).

    Deliberate difference from optax: an all-zero update stays zero (optax
    divides 0 by 0 and returns NaN). Updates keep their leaves' dtypes (optax
    returns float32 for a bfloat16 leaf, since the norm is float32).

    Returns:
      A stateless `GradientTransformation` (`NormalizeState`, i.e. `EmptyState`).

    Reference: Foret et al., "Sharpness-Aware Minimization for Efficiently
    Improving Generalization", ICLR 2021 (https://arxiv.org/abs/2010.01412).
    """

    def init(params):
        del params
        return NormalizeState()

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        norm = global_norm(updates)
        # A zero norm means every entry is zero: dividing by 1 keeps them zero instead of NaN.
        norm = jnp.where(norm == 0, jnp.ones_like(norm), norm)
        return jax.tree.map(lambda g: _divide_by_norm(g, norm), updates), state

    return GradientTransformationExtraArgs(init, update)
