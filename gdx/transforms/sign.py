"""Sign-based updates: the Lion rule (`scale_by_lion`)."""

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, cast_like, is_none, promoted, tree_zeros_like
from gdx._common.moments import safe_increment, zero_count
from gdx.core import GradientTransformation, GradientTransformationExtraArgs


class ScaleByLionState(NamedTuple):
    """State of `scale_by_lion`: the int32 step count and the momentum, one leaf per param."""

    count: jax.Array
    mu: Any


def scale_by_lion(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.99,
    mu_dtype: Any | None = None,
    *,
    mode: Literal["hard", "smooth", "refined"] = "hard",
    smooth_beta: float = 1.0,
) -> GradientTransformation:
    """Rescales updates by the Lion rule: the sign of an interpolated momentum.

    Update rule::

        c  = (1 - b1) * g + b1 * mu
        u  = sign(c)                    # mode="hard"
             tanh(smooth_beta * c)      # mode="smooth"
             c if |c| < 1 else sign(c)  # mode="refined"
        mu <- (1 - b2) * g + b2 * mu

    Args:
      b1: interpolation between gradient and momentum for the update, in [0, 1) (default 0.9).
      b2: decay of the momentum, in [0, 1) (default 0.99).
      mu_dtype: dtype of the momentum; `None` (default) uses the params'.
      mode: `"hard"` (default, the paper's sign), `"smooth"` or `"refined"`.
      smooth_beta: the tanh sharpness for `mode="smooth"` (default 1.0).

    Returns:
      A `GradientTransformation` with state `ScaleByLionState(count, mu)`, as
      `optax.scale_by_lion`.

    References:
      Chen et al., Symbolic Discovery of Optimization Algorithms, 2023
      (https://arxiv.org/abs/2302.06675).
    """
    checks.decay_rate("scale_by_lion", "b1", b1)
    checks.decay_rate("scale_by_lion", "b2", b2)
    checks.one_of("scale_by_lion", "mode", mode, ("hard", "smooth", "refined"))
    checks.finite("scale_by_lion", "smooth_beta", smooth_beta)
    mu_dtype = canonical_dtype(mu_dtype)

    def lion_direction(g, mu):
        interpolated = promoted(jnp.add, promoted(jnp.multiply, 1.0 - b1, g), promoted(jnp.multiply, b1, mu))
        if mode == "hard":
            direction = jnp.sign(interpolated)
        elif mode == "smooth":
            direction = jnp.tanh(smooth_beta * interpolated)
        else:  # "refined": linear near zero, the sign beyond |c| = 1
            direction = jnp.where(jnp.abs(interpolated) < 1.0, interpolated, jnp.sign(interpolated))
        return direction.astype(g.dtype)

    def momentum(g, mu):
        # Same operations, in the same order, as optax.tree.update_moment(order=1).
        return promoted(jnp.add, promoted(jnp.multiply, 1 - b2, g**1), promoted(jnp.multiply, b2, mu))

    def init(params):
        return ScaleByLionState(count=zero_count(), mu=tree_zeros_like(params, mu_dtype))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who="scale_by_lion", what="state.mu")
        new_updates = jax.tree.map(
            lambda g, m: None if g is None else lion_direction(g, m), updates, state.mu, is_leaf=is_none
        )
        mu = jax.tree.map(
            lambda g, m: None if g is None else momentum(g, m), updates, state.mu, is_leaf=is_none
        )
        mu = cast_like(mu, state.mu)
        return new_updates, ScaleByLionState(count=safe_increment(state.count), mu=mu)

    return GradientTransformationExtraArgs(init, update)
