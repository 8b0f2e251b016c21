"""ACProp: AdaBelief's centred second moment with an asynchronous update (`scale_by_acprop`, `acprop`).

The arithmetic mirrors `optax.contrib` 0.2.8 operation for operation, with
promotions written out so the code also runs under strict dtype promotion.
"""

from collections.abc import Callable
from typing import Any, cast

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import cast_like, promoted, tree_zeros_like
from gdx._common.moments import (
    bias_correction,
    divide_by_root,
    safe_increment,
    update_moment,
    update_moment_per_elem_norm,
    zero_count,
)
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Params, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adam_variants import ScaleByBeliefState
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate


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
      b1: decay of the first moment, in [0, 1). Default 0.9.
      b2: decay of the second central moment, in [0, 1). Default 0.999.
      eps: added to the denominator outside the square root, >= 0. Default 1e-16.
      eps_root: added to the second moment at every step, >= 0 (must be > 0 to
        differentiate through the update). Default 1e-16.

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


@checks.called_as("acprop")
def acprop(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: Any | Callable[[Params], Any] | None = None,
) -> GradientTransformation:
    r"""The ACProp optimizer: `scale_by_acprop`, decoupled weight decay, then the learning rate.

    Update rule (`t` counts from 1, `lr` is `learning_rate` or `learning_rate(t - 1)`)::

        u <- -lr * (g / (sqrt(s_{t-1} / (1 - b2**(t-1))) + eps) + weight_decay * x)
        s <- b2 * s + (1 - b2) * (g - m)**2 + eps_root;   m <- b1 * m + (1 - b1) * g

    Args:
      learning_rate: a number >= 0 or a schedule `count -> learning rate`.
      b1: decay of the first moment, in [0, 1). Default 0.9.
      b2: decay of the second central moment, in [0, 1). Default 0.999.
      eps: added to the denominator, >= 0. Default 1e-16.
      eps_root: added to the second moment at every step, >= 0. Default 1e-16.
      weight_decay: decoupled weight decay (multiplied by the learning rate), >= 0. Default 0.
      mask: which params get weight decay: a pytree of bools (or a callable
        `params -> pytree`); `None` decays all.

    Returns:
      A `GradientTransformation` with state
      `(ScaleByBeliefState(count, mu, nu), <weight-decay state>, <learning-rate state>)`, as optax.

    Reference: Zhuang et al., "Momentum Centering and Asynchronous Update for
    Adaptive Gradient Methods", NeurIPS 2021 (https://arxiv.org/abs/2110.05454).
    """
    who = "acprop"
    return named_optimizer(
        who,
        scale_by_acprop(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        add_decayed_weights(cast(Any, weight_decay), mask),
        scale_by_learning_rate(learning_rate),
    )
