"""Gradient clipping: element-wise (`clip`) and by global norm (`clip_by_global_norm`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gdx import _tree, _validate
from gdx._tree import promote
from gdx.core import EmptyState, GradientTransformation

ClipState = EmptyState
ClipByGlobalNormState = EmptyState


def _empty_init(params):
    del params
    return EmptyState()


def _in_dtype_of(value, x: jax.Array):
    # Python scalars are weak-typed already; an array bound is cast so a bfloat16
    # update stays bfloat16 (and strict promotion holds).
    return value if type(value) in (int, float) else jnp.asarray(value, x.dtype)


def _clip_leaf(g: jax.Array, max_delta) -> jax.Array:
    bound = _in_dtype_of(max_delta, g)
    return jnp.clip(g, -bound, bound)


def clip(max_delta: jax.typing.ArrayLike) -> GradientTransformation:
    """Clips every update element to `[-max_delta, max_delta]`: `u <- clip(u, -max_delta, max_delta)`.

    Args:
      max_delta: the largest absolute value of an update element, >= 0.

    Returns:
      A stateless `GradientTransformation` (`ClipState = EmptyState`).
    """
    _validate.non_negative("clip", "max_delta", max_delta)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(lambda g: _clip_leaf(g, max_delta), updates), state

    return GradientTransformation(_empty_init, update)


def clip_by_global_norm(max_norm: jax.typing.ArrayLike) -> GradientTransformation:
    """Rescales the updates so that their global L2 norm is at most `max_norm`.

    Update rule: `n = ||u||_2` over all leaves; `u <- u if n < max_norm else (u / n) * max_norm`.

    Args:
      max_norm: the largest global norm of the updates, > 0.

    Returns:
      A stateless `GradientTransformation` (`ClipByGlobalNormState = EmptyState`).

    References:
      Pascanu et al., On the difficulty of training Recurrent Neural Networks, 2012
      (https://arxiv.org/abs/1211.5063).
    """
    _validate.positive("clip_by_global_norm", "max_norm", max_norm)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        global_norm = _tree.global_norm(updates)
        norm_, max_norm_ = promote(global_norm, max_norm)
        within_bound = jnp.squeeze(norm_ < max_norm_)
        if jnp.ndim(within_bound) != 0:
            raise ValueError(
                f"clip_by_global_norm: max_norm must be a scalar, got shape {jnp.shape(max_norm)}"
            )

        def clip_leaf(t):
            # (t / n) * max_norm, in the leaf's dtype, exactly as optax orders it.
            return jax.lax.select(
                within_bound, t, (t / global_norm.astype(t.dtype)) * _in_dtype_of(max_norm, t)
            )

        return jax.tree.map(clip_leaf, updates), state

    return GradientTransformation(_empty_init, update)
