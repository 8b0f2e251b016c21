"""D-Adaptation's AdamW rule (`scale_by_dadapt_adamw`): the step size `d` estimates the distance to x*."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import promoted_py
from gdx._common.tree_math import array_vdot as tree_vdot
from gdx._common.tree_math import tree_abs_sum
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, ScalarOrSchedule, Updates
from gdx.transforms.lr_free.prodigy import (
    _decayed_updates,
    _initial_fields,
    _next_state,
    _raised,
    _second_moment,
    _step_scale,
    _validate_betas,
)


class DAdaptAdamWState(NamedTuple):
    """State of `scale_by_dadapt_adamw` (and `dadapt_adamw`), optax's layout: AdamW moments, the
    weighted gradient sum `s`, the distance estimate `d`, the weighted numerator of `d` and an
    int32 count."""

    exp_avg: Updates
    exp_avg_sq: Updates
    grad_sum: Updates
    estim_lr: jax.Array
    numerator_weighted: jax.Array
    count: jax.Array


@docs.shared_args
def scale_by_dadapt_adamw(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    weight_decay: jax.typing.ArrayLike = 0.0,
) -> GradientTransformation:
    """D-Adaptation's whole AdamW update: AdamW steps scaled by a step size `d` estimated on the fly.

    Update rule (`lr_t` the learning rate multiplier at count `t`, `b1, b2 = betas`,
    `c = sqrt(b2)`; `m`, `v`, `s` hold the step size inside them)::

        dlr = d * lr_t * sqrt(1 - b2**t) / (1 - b1**t)
        r   <- c * r + (1 - c) * dlr * <g, s / (sqrt(v) + eps)>     # s, v before this step
        m   <- b1 * m + (1 - b1) * dlr * g
        v   <- b2 * v + (1 - b2) * g**2
        s   <- c * s + (1 - c) * dlr * g
        d   <- max(d, r / ((1 - c) * ||s||_1))                       # d kept while ||s||_1 == 0
        u   <- -weight_decay * dlr * x - m / (sqrt(v) + eps)

    Differences from optax (deliberate): while `||s||_1 == 0` (all gradients so
    far zero) `d` is kept, as the authors' PyTorch code does, where optax's `d`
    becomes NaN (0/0); scalar state is kept in the params' highest float dtype
    (optax's changes dtype after one step on mixed float32/bfloat16 trees,
    which breaks `jit` loops), and per-leaf state keeps its leaf's dtype.

    Args:
      learning_rate, betas, eps, estim_lr0, weight_decay: {dadapt}

    The learning rate is part of the rule (it multiplies `d` inside the moments and
    sums), so it is an argument here and not a chained `scale_by_learning_rate`; the
    updates are descent steps (add them to the params). `gdx.dadapt_adamw` is this
    transformation under optax's name.

    Returns:
      A `GradientTransformation` with state `DAdaptAdamWState`; `update` needs `params`.

    Reference: Defazio & Mishchenko, "Learning-Rate-Free Learning by
    D-Adaptation", ICML 2023 (arXiv:2301.07733), the Adam variant.
    """
    who = "scale_by_dadapt_adamw"
    named = checks.caller(who)  # the recipe the user called, for errors at init/update
    checks.learning_rate(who, learning_rate)
    beta1, beta2 = _validate_betas(who, betas)
    checks.non_negative(who, "eps", eps)
    checks.positive(who, "estim_lr0", estim_lr0)
    checks.non_negative(who, "weight_decay", weight_decay)
    sum_decay = beta2**0.5

    def init(params):
        checks.check_float_params(params, who=named)
        return DAdaptAdamWState(**_initial_fields(params, estim_lr0))

    def update(updates, state, params=None, **extra_args):
        del extra_args
        checks.require_params(named, params)
        checks.check_same_structure(updates, state.exp_avg, who=named, what="state.exp_avg")
        count_inc, d, dlr = _step_scale(state, learning_rate, beta1, beta2)
        dlr = dlr.astype(state.numerator_weighted.dtype)
        weighted_sum = jax.tree.map(
            lambda s, eas: promoted_py(jnp.divide, s, promoted_py(jnp.add, jnp.sqrt(eas), eps)),
            state.grad_sum,
            state.exp_avg_sq,
        )
        numerator_term = tree_vdot(updates, weighted_sum)
        exp_avg = jax.tree.map(
            lambda ea, g: promoted_py(
                jnp.add,
                promoted_py(jnp.multiply, beta1, ea),
                promoted_py(jnp.multiply, promoted_py(jnp.multiply, 1 - beta1, dlr), g),
            ),
            state.exp_avg,
            updates,
        )
        exp_avg_sq = _second_moment(state.exp_avg_sq, updates, beta2)
        grad_sum = jax.tree.map(
            lambda s, g: promoted_py(
                jnp.add,
                promoted_py(jnp.multiply, sum_decay, s),
                promoted_py(jnp.multiply, promoted_py(jnp.multiply, 1 - sum_decay, dlr), g),
            ),
            state.grad_sum,
            updates,
        )
        grad_sum_l1 = tree_abs_sum(grad_sum)
        numerator = promoted_py(
            jnp.add,
            promoted_py(jnp.multiply, sum_decay, state.numerator_weighted),
            promoted_py(jnp.multiply, promoted_py(jnp.multiply, 1 - sum_decay, dlr), numerator_term),
        )
        estimate = promoted_py(jnp.divide, numerator, promoted_py(jnp.multiply, 1 - sum_decay, grad_sum_l1))
        new_d = _raised(d, estimate, grad_sum_l1)
        new_updates = _decayed_updates(
            lambda ea, eas: promoted_py(jnp.divide, ea, promoted_py(jnp.add, jnp.sqrt(eas), eps)),
            exp_avg,
            exp_avg_sq,
            params,
            updates,
            weight_decay,
            dlr,
        )
        new_state = _next_state(
            state, count_inc, d, new_d, numerator, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, grad_sum=grad_sum
        )
        return new_updates, new_state

    return GradientTransformationExtraArgs(init, update)
