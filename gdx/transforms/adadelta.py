"""AdaDelta: per-coordinate steps in the units of the params (`scale_by_adadelta`).

The arithmetic mirrors optax 0.2.8 operation for operation (bit for bit in
float32), written to run under strict dtype promotion. Updates keep the
grads' dtype and state leaves the dtype they were initialized with.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import cast_like, promoted, tree_zeros_like
from gdx._common.moments import update_moment
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates, record_structure


class ScaleByAdaDeltaState(NamedTuple):
    """State of `scale_by_adadelta`: running averages of squared gradients and of squared updates."""

    e_g: Updates
    e_x: Updates


@docs.shared_args
def scale_by_adadelta(
    rho: jax.typing.ArrayLike = 0.9, eps: jax.typing.ArrayLike = 1e-6
) -> GradientTransformation:
    """Rescales updates by AdaDelta: the ratio of the RMS of past updates to the RMS of gradients.

    Update rule::

        e_g <- rho * e_g + (1 - rho) * g**2
        u   <- sqrt(e_x + eps) / sqrt(e_g + eps) * g       # e_x of the previous step
        e_x <- rho * e_x + (1 - rho) * u**2

    Args:
      rho, eps: {adadelta}

    Returns:
      A `GradientTransformation` with state `ScaleByAdaDeltaState(e_g, e_x)`, as in optax.

    Reference: Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012
    (https://arxiv.org/abs/1212.5701).
    """
    who = "scale_by_adadelta"
    checks.decay_rate(who, "rho", rho)
    checks.positive(who, "eps", eps)

    def step(g, e_g, e_x):
        ratio = promoted(
            jnp.divide, jnp.sqrt(promoted(jnp.add, e_x, eps)), jnp.sqrt(promoted(jnp.add, e_g, eps))
        )
        return promoted(jnp.multiply, ratio, g)

    def init(params):
        return ScaleByAdaDeltaState(e_g=tree_zeros_like(params), e_x=tree_zeros_like(params))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.e_g, who=who, what="state.e_g")
        e_g = update_moment(updates, state.e_g, rho, 2)
        steps = jax.tree.map(step, updates, e_g, state.e_x)
        e_x = update_moment(steps, state.e_x, rho, 2)
        new_updates = jax.tree.map(lambda u, g: u.astype(g.dtype), steps, updates)
        return new_updates, ScaleByAdaDeltaState(e_g=cast_like(e_g, state.e_g), e_x=cast_like(e_x, state.e_x))

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)
