"""Normalising updates: centre each leaf (`centralize`), divide by the global norm (`normalize`, ...)."""

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx._common.tree_math import global_norm
from gdx.core import EmptyState, GradientTransformation, GradientTransformationExtraArgs


def _empty_init(params):
    del params
    return EmptyState()


def _subtract_mean(g: jax.Array) -> jax.Array:
    if g.ndim > 1:
        return g - g.mean(tuple(range(1, g.ndim)), keepdims=True)
    return g


def centralize() -> GradientTransformation:
    """Centralizes each update leaf with two or more axes: subtracts its mean over all axes but the first.

    Update rule: `u <- u - mean(u, axis=(1, ..., ndim - 1), keepdims=True)` for
    `u.ndim > 1`; vectors and scalars (biases, scales) are left as they are.

    Returns:
      A stateless `GradientTransformation` (`EmptyState`).

    References:
      Yong et al., Gradient Centralization: A New Optimization Technique for Deep
      Neural Networks, ECCV 2020.
    """

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(_subtract_mean, updates), state

    return GradientTransformationExtraArgs(_empty_init, update)


def normalize_by_update_norm(
    scale_factor: jax.typing.ArrayLike = 1.0, eps: jax.typing.ArrayLike = 1e-6
) -> GradientTransformation:
    """Divides the updates by their global L2 norm: `u <- scale_factor * u / (||u||_2 + eps)`.

    Computed as optax computes it: `u / ((||u||_2 + eps) / scale_factor)`.

    Args:
      scale_factor: the norm of the result (up to `eps`), any non-zero finite
        number; -1 for a normalized descent step. Default 1.
      eps: added to the norm, >= 0, so zero updates stay finite. Default 1e-6.

    Returns:
      A stateless `GradientTransformation` (`EmptyState`).
    """
    who = "normalize_by_update_norm"
    checks.finite(who, "scale_factor", scale_factor)
    if checks.concrete_number(scale_factor) == 0:
        raise ValueError(f"{who}: scale_factor must be non-zero, got {scale_factor!r}")
    checks.non_negative(who, "eps", eps)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        g_norm = promoted(jnp.divide, promoted(jnp.add, global_norm(updates), eps), scale_factor)
        updates = jax.tree.map(lambda g: promoted(jnp.divide, g, g_norm).astype(g.dtype), updates)
        return updates, state

    return GradientTransformationExtraArgs(_empty_init, update)


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
