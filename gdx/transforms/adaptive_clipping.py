"""Clipping relative to a leaf's own size: by block RMS, and adaptive (unit-wise, relative to the params).

The arithmetic mirrors optax 0.2.8 operation for operation, with promotions
written out for strict dtype promotion.
"""

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promote, promoted
from gdx._common.tree_math import abs_sq
from gdx.core import EmptyState, GradientTransformation, GradientTransformationExtraArgs

AdaptiveGradClipState = EmptyState


def _empty_init(params):
    del params
    return EmptyState()


def clip_by_block_rms(threshold: jax.typing.ArrayLike) -> GradientTransformation:
    """Rescales each update leaf so that its root mean square is at most `threshold`.

    Update rule, leaf by leaf: `u <- u / max(1, sqrt(mean(|u|**2)) / threshold)`.

    Args:
      threshold: the largest RMS of a leaf's update, > 0.

    Returns:
      A stateless `GradientTransformation` (`EmptyState`).

    References:
      Shazeer & Stern, Adafactor: Adaptive Learning Rates with Sublinear Memory Cost,
      ICML 2018 (update clipping).
    """
    checks.positive("clip_by_block_rms", "threshold", threshold)

    def clip_leaf(u):
        rms = jnp.sqrt(jnp.mean(abs_sq(u)))
        clip_denominator = promoted(jnp.maximum, 1.0, promoted(jnp.divide, rms, threshold))
        return promoted(jnp.divide, u, clip_denominator).astype(u.dtype)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(clip_leaf, updates), state

    return GradientTransformationExtraArgs(_empty_init, update)


def unitwise_norm(x: jax.typing.ArrayLike, axis: int | tuple[int, ...] | None = None) -> jax.Array:
    """The L2 norm of each unit of `x` (a slice along `axis`), broadcast back to `x`'s shape.

    Rule: `out = broadcast(sqrt(sum(|x|**2 over axis, keepdims=True)), x.shape)`.
    With `axis=None` the units follow the usual layer layouts: a scalar or
    vector (after squeezing) is one unit; rank 2 and 3 (dense `IO`, multi-head
    dense) reduce axis 0; rank 4 (`HWIO` conv) axes (0, 1, 2); rank 5 (`DHWIO`
    conv) axes (0, 1, 2, 3).

    Args:
      x: an array (real or complex).
      axis: the axis or axes of a unit. Default None infers them from the rank
        as above; other ranks need `axis`.

    Returns:
      An array of `x`'s shape holding, at each entry, the norm of its unit.

    Raises:
      ValueError: if `axis` is None and `x` has rank above 5.

    References:
      Brock, De, Smith & Simonyan, High-Performance Large-Scale Image Recognition
      Without Normalization, ICML 2021. https://arxiv.org/abs/2102.06171
    """
    x = jnp.asarray(x)
    squares = abs_sq(x)
    if axis is not None:
        squared_norm = jnp.sum(squares, axis=axis, keepdims=True)
    elif jnp.squeeze(x).ndim <= 1:
        squared_norm = jnp.sum(squares, keepdims=True)
    elif x.ndim in (2, 3):
        squared_norm = jnp.sum(squares, axis=0, keepdims=True)
    elif x.ndim == 4:
        squared_norm = jnp.sum(squares, axis=(0, 1, 2), keepdims=True)
    elif x.ndim == 5:
        squared_norm = jnp.sum(squares, axis=(0, 1, 2, 3), keepdims=True)
    else:
        raise ValueError(
            f"unitwise_norm: an array of shape {x.shape} has no default unit; "
            "pass axis= to name the axes to take the norm over"
        )
    return jnp.broadcast_to(jnp.sqrt(squared_norm), x.shape)


def unitwise_clip(
    g_norm: jax.typing.ArrayLike,
    max_norm: jax.typing.ArrayLike,
    grad: jax.typing.ArrayLike,
    div_eps: jax.typing.ArrayLike = 1e-6,
) -> jax.Array:
    """Rescales each unit of `grad` whose norm reaches `max_norm` down to norm `max_norm`.

    Rule, entry by entry::

        out = grad                                          where g_norm < max_norm
              grad * (max_norm / max(g_norm, div_eps))      elsewhere

    Args:
      g_norm: the unit norms of `grad`, `unitwise_norm(grad)` (same shape as `grad`).
      max_norm: the largest allowed norm of each unit, same shape.
      grad: the array to clip.
      div_eps: floor of the denominator, > 0; it only guards the division
        (the `where` never selects a unit of norm 0). Default 1e-6.

    Returns:
      The clipped array, in the dtype standard promotion gives `grad`, `g_norm`
      and `max_norm` (as optax).

    Raises:
      ValueError: if the three arrays do not have the same shape.

    References:
      Brock, De, Smith & Simonyan, High-Performance Large-Scale Image Recognition
      Without Normalization, ICML 2021. https://arxiv.org/abs/2102.06171
    """
    shapes = {name: jnp.shape(v) for name, v in (("g_norm", g_norm), ("max_norm", max_norm), ("grad", grad))}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"unitwise_clip: g_norm, max_norm and grad must have one shape, got {shapes}")
    factor = promoted(jnp.divide, max_norm, promoted(jnp.maximum, g_norm, div_eps))
    clipped = promoted(jnp.multiply, grad, factor)
    within = promoted(jnp.less, g_norm, max_norm)
    return jnp.where(within, *promote(grad, clipped))


def adaptive_grad_clip(
    clipping: jax.typing.ArrayLike,
    eps: jax.typing.ArrayLike = 1e-3,
    axis: int | tuple[int, ...] | None = None,
) -> GradientTransformation:
    """Clips each unit of the updates to at most `clipping` times the norm of the matching params unit (AGC).

    Update rule, unit by unit (a unit is an output row/filter, see `axis`)::

        max_norm = clipping * max(||p_unit||, eps)
        u_unit <- u_unit                                  if ||u_unit|| < max_norm
                  u_unit * max_norm / max(||u_unit||, 1e-6)   otherwise

    Args:
      clipping: the largest ratio of update norm to param norm, > 0 (0.01 to
        0.16 in the paper, smaller for larger batches).
      eps: the smallest param norm, >= 0, so zero-initialised params still move. Default 1e-3.
      axis: the axis or axes a unit's norm is taken over. Default None infers
        them from each leaf's rank: a vector (or scalar) is one unit; rank 2
        and 3 reduce axis 0; rank 4 axes (0, 1, 2); rank 5 axes (0, 1, 2, 3);
        other ranks need `axis`.

    Returns:
      A stateless `GradientTransformation` (`AdaptiveGradClipState = EmptyState`).
      `update` needs `params`.

    References:
      Brock, De, Smith & Simonyan, High-Performance Large-Scale Image Recognition
      Without Normalization, ICML 2021.
    """
    who = "adaptive_grad_clip"
    checks.positive(who, "clipping", clipping)
    checks.non_negative(who, "eps", eps)

    def clip_leaf(u: jax.Array, p: jax.Array) -> jax.Array:
        max_norm = promoted(jnp.multiply, clipping, promoted(jnp.maximum, unitwise_norm(p, axis), eps))
        # gdx keeps the updates' dtype (optax returns the promoted dtype of updates and params).
        return unitwise_clip(unitwise_norm(u, axis), max_norm, u).astype(u.dtype)

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params)")
        checks.check_same_structure(updates, params, who=who, what="params")
        return jax.tree.map(clip_leaf, updates, params), state

    return GradientTransformationExtraArgs(_empty_init, update)
