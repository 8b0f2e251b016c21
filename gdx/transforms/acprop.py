"""ACProp: AdaBelief's centred second moment with an asynchronous update (`scale_by_acprop`).

The arithmetic mirrors `optax.contrib` 0.2.8 operation for operation, with
promotions written out so the code also runs under strict dtype promotion.
"""

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import cast_like, promoted, tree_zeros_like
from gdx._common.moments import (
    bias_correction,
    divide_by_root,
    safe_increment,
    update_moment,
    update_moment_per_elem_norm,
    zero_count,
)
from gdx.core import GradientTransformation, GradientTransformationExtraArgs
from gdx.transforms.adam_variants import ScaleByBeliefState


@docs.shared_args
def scale_by_acprop(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
) -> GradientTransformation:
    r"""Rescales updates by ACProp: the gradient over the *previous* step's centred second moment.

    Update rule (`t` counts from 1; the denominator uses only steps before `t`)::

        u  <- g / (sqrt(s / (1 - b2**(t-1))) + eps)     # s from step t-1; 1 / (1 + eps) at t = 1
        s  <- b2 * s + (1 - b2) * (g - m)**2 + eps_root  # m: the first moment *before* this step
        m  <- b1 * m + (1 - b1) * g

    As optax 0.2.8's code, the prediction error `g - m` uses the first moment
    of step `t - 1` (optax's docstring writes `m_t`); the numerator is the raw
    gradient, so `m` only feeds the second moment.

    Args:
      b1: {adam}
      b2, eps, eps_root: {acprop}

    Returns:
      A `GradientTransformation` with state `ScaleByBeliefState(count, mu, nu)`,
      as optax (`nu` holds `s`).

    Reference: Zhuang et al., "Momentum Centering and Asynchronous Update for
    Adaptive Gradient Methods", NeurIPS 2021 (https://arxiv.org/abs/2110.05454).
    """
    who = "scale_by_acprop"
    checks.adam_moments(who, b1, b2, eps, eps_root)

    def init(params):
        return ScaleByBeliefState(count=zero_count(), mu=tree_zeros_like(params), nu=tree_zeros_like(params))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        mu = update_moment(updates, state.mu, b1, 1)
        prediction_error = jax.tree.map(lambda g, m: promoted(jnp.subtract, g, m), updates, state.mu)
        nu = update_moment_per_elem_norm(prediction_error, state.nu, b2, 2)
        nu = jax.tree.map(lambda v: promoted(jnp.add, v, eps_root), nu)
        count_inc = safe_increment(state.count)
        # At the first step there is no previous second moment: the denominator is 1 (+ eps).
        initial = state.count == 0
        previous_steps = jnp.where(initial, count_inc, state.count)
        nu_hat = bias_correction(state.nu, b2, previous_steps)
        nu_hat = jax.tree.map(lambda v: jnp.where(initial, jnp.ones((), v.dtype), v), nu_hat)
        updates = jax.tree.map(lambda g, v: divide_by_root(g, v, eps, dtype=g.dtype), updates, nu_hat)
        return updates, ScaleByBeliefState(
            count=count_inc, mu=cast_like(mu, state.mu), nu=cast_like(nu, state.nu)
        )

    return GradientTransformationExtraArgs(init, update)
