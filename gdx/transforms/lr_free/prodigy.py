"""Prodigy's update rule (`scale_by_prodigy`): AdamW whose step size `d` estimates the distance to x*."""

from collections.abc import Callable
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import cast_like, promoted, promoted_py, scalar_dtype, tree_copy, tree_zeros_like
from gdx._common.moments import adam_step_scale, safe_increment, zero_count
from gdx._common.tree_math import array_vdot as tree_vdot
from gdx._common.tree_math import tree_abs_sum
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, ScalarOrSchedule, Updates


class ProdigyState(NamedTuple):
    """State of `scale_by_prodigy` (and `prodigy`), optax's layout: AdamW moments, the weighted
    gradient sum, the initial params, the distance estimate `d`, the weighted numerator of `d` and
    an int32 count."""

    exp_avg: Updates
    exp_avg_sq: Updates
    grad_sum: Updates
    params0: Updates
    estim_lr: jax.Array
    numerator_weighted: jax.Array
    count: jax.Array


@docs.shared_args
def scale_by_prodigy(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    beta3: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    estim_lr_coef: jax.typing.ArrayLike = 1.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    safeguard_warmup: bool = False,
) -> GradientTransformation:
    """Prodigy's whole update: AdamW steps scaled by a step size `d` estimated on the fly.

    Update rule (`lr_t` the learning rate multiplier at count `t`, `x_0` the
    params at `init`, `b1, b2 = betas`, `b3 = beta3` or `sqrt(b2)`)::

        dlr  = d * lr_t * sqrt(1 - b2**t) / (1 - b1**t)
        m    <- b1 * m + (1 - b1) * d * g
        v    <- b2 * v + (1 - b2) * (d * g)**2
        s    <- b3 * s + (d / d0) * dlr * d * g          # d / d0 * d * d * g with safeguard_warmup
        r    <- b3 * r + (d / d0) * dlr * <g, x_0 - x>
        d_new = max(d, estim_lr_coef * r / ||s||_1)      # d_new = d while ||s||_1 == 0
        u    <- -weight_decay * dlr * x - dlr * m / (sqrt(v) + d_new * eps)

    Differences from optax (deliberate): while `||s||_1 == 0` (all gradients so
    far zero) `d` is kept, as in the authors' PyTorch code, where optax's `d`
    becomes NaN (0/0); scalar state is kept in the params' highest float dtype
    (optax's changes dtype after one step on mixed float32/bfloat16 trees,
    which breaks `jit` loops), and per-leaf state keeps its leaf's dtype.

    Args:
      learning_rate, betas, beta3, eps, estim_lr0, estim_lr_coef, weight_decay, safeguard_warmup: {prodigy}

    The learning rate is part of the rule (it multiplies `d` inside the sums),
    so it is an argument here and not a chained `scale_by_learning_rate`; the
    updates are descent steps (add them to the params). `gdx.prodigy` is this
    transformation under optax's name.

    Returns:
      A `GradientTransformation` with state `ProdigyState`; `update` needs `params`.

    Reference: Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive
    Parameter-Free Learner", ICML 2024 (arXiv:2306.06101).
    """
    who = "scale_by_prodigy"
    named = checks.caller(who)  # the recipe the user called, for errors at init/update
    checks.learning_rate(who, learning_rate)
    beta1, beta2 = _validate_betas(who, betas)
    if beta3 is not None:
        checks.decay_rate(who, "beta3", beta3)
    checks.non_negative(who, "eps", eps)
    checks.positive(who, "estim_lr0", estim_lr0)
    checks.positive(who, "estim_lr_coef", estim_lr_coef)
    checks.non_negative(who, "weight_decay", weight_decay)
    sum_decay = beta2**0.5 if beta3 is None else beta3

    def init(params):
        checks.check_float_params(params, who=named)
        return ProdigyState(params0=tree_copy(params), **_initial_fields(params, estim_lr0))

    def update(updates, state, params=None, **extra_args):
        del extra_args
        checks.require_params(named, params)
        checks.check_same_structure(updates, state.exp_avg, who=named, what="state.exp_avg")
        count_inc, d, dlr = _step_scale(state, learning_rate, beta1, beta2)
        dlr = dlr.astype(d.dtype)
        scaled_grads = jax.tree.map(lambda g: promoted_py(jnp.multiply, d, g), updates)
        distance = jax.tree.map(jnp.subtract, state.params0, params)
        numerator_term = tree_vdot(updates, distance)
        exp_avg = jax.tree.map(
            lambda ea, dg: promoted_py(
                jnp.add, promoted_py(jnp.multiply, beta1, ea), promoted_py(jnp.multiply, 1 - beta1, dg)
            ),
            state.exp_avg,
            scaled_grads,
        )
        exp_avg_sq = _second_moment(state.exp_avg_sq, scaled_grads, beta2)
        sum_weight = d if safeguard_warmup else dlr
        grad_sum = jax.tree.map(
            lambda s, dg: promoted_py(
                jnp.add,
                promoted_py(jnp.multiply, sum_decay, s),
                promoted_py(jnp.divide, promoted_py(jnp.multiply, sum_weight, dg), estim_lr0),
            ),
            state.grad_sum,
            scaled_grads,
        )
        numerator = promoted_py(
            jnp.add,
            promoted_py(jnp.multiply, sum_decay, state.numerator_weighted),
            promoted_py(
                jnp.multiply,
                promoted_py(jnp.multiply, promoted_py(jnp.divide, d, estim_lr0), dlr),
                numerator_term,
            ),
        )
        denominator = tree_abs_sum(grad_sum)
        estimate = promoted_py(jnp.divide, promoted_py(jnp.multiply, estim_lr_coef, numerator), denominator)
        new_d = _raised(d, estimate, denominator)
        new_updates = _decayed_updates(
            lambda ea, eas: promoted_py(
                jnp.divide,
                promoted_py(jnp.multiply, dlr, ea),
                promoted_py(jnp.add, jnp.sqrt(eas), promoted_py(jnp.multiply, new_d, eps)),
            ),
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


def _validate_betas(who: str, betas: Any) -> tuple[Any, Any]:
    """Checks `betas = (b1, b2)`, each in [0, 1); returns the pair (shared with `scale_by_dadapt_adamw`)."""
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise ValueError(checks.message(who, "betas", f"must be a pair (b1, b2), got {betas!r}"))
    beta1, beta2 = betas
    checks.decay_rate(who, "betas[0]", beta1)
    checks.decay_rate(who, "betas[1]", beta2)
    return beta1, beta2


# --- Shared with `scale_by_dadapt_adamw` ---------------------------------------


def _initial_fields(params: Any, estim_lr0: Any) -> dict[str, Any]:
    """The state fields both D-Adaptation rules start from: zero moments and sum, `d0`, a zero numerator."""
    dtype = scalar_dtype(params)
    return {
        "exp_avg": tree_zeros_like(params),
        "exp_avg_sq": tree_zeros_like(params),
        "grad_sum": tree_zeros_like(params),
        "estim_lr": jnp.asarray(estim_lr0, dtype),
        "numerator_weighted": jnp.zeros([], dtype),
        "count": zero_count(),
    }


def _step_scale(
    state: Any, learning_rate: Any, beta1: Any, beta2: Any
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """`(t + 1, d, dlr)`: the step count, the current estimate `d` and Adam's step scale of `d * lr`."""
    count_inc = safe_increment(state.count)
    multiplier = learning_rate(state.count) if callable(learning_rate) else learning_rate
    d = state.estim_lr
    return count_inc, d, adam_step_scale(d, multiplier, beta1, beta2, count_inc)


def _second_moment(exp_avg_sq: Updates, x: Updates, beta2: Any) -> Updates:
    """`beta2 * v + (1 - beta2) * x * x`, leaf by leaf, each operation promoted as in optax."""
    return jax.tree.map(
        lambda v, g: promoted_py(
            jnp.add,
            promoted_py(jnp.multiply, beta2, v),
            promoted_py(jnp.multiply, promoted_py(jnp.multiply, 1 - beta2, g), g),
        ),
        exp_avg_sq,
        x,
    )


def _raised(d: jax.Array, estimate: jax.Array, denominator: jax.Array) -> jax.Array:
    """`max(d, estimate)`, or `d` while the denominator (every gradient so far) is zero.

    optax: 0/0 = NaN there; PyTorch's D-Adaptation and Prodigy skip the step.
    """
    raised = promoted(jnp.maximum, d, estimate)
    return jnp.where(denominator == 0, d.astype(raised.dtype), raised)


def _decayed_updates(
    step: Callable[[jax.Array, jax.Array], jax.Array],
    exp_avg: Updates,
    exp_avg_sq: Updates,
    params: Any,
    updates: Updates,
    weight_decay: Any,
    dlr: Any,
) -> Updates:
    """`-weight_decay * dlr * p - step(m, v)` leaf by leaf (AdamW's decoupled decay), in the grads' dtypes."""

    def leaf(m, v, p, g):
        decay = promoted_py(jnp.multiply, promoted_py(jnp.multiply, (-cast(Any, weight_decay)), dlr), p)
        return promoted_py(jnp.subtract, decay, step(m, v)).astype(g.dtype)

    return jax.tree.map(leaf, exp_avg, exp_avg_sq, params, updates)


def _next_state(
    state: Any, count: jax.Array, d: jax.Array, new_d: jax.Array, numerator: jax.Array, **moments: Any
):
    """`state` after a step: the moments and sum (`moments`) in their state dtypes, the new `d`, numerator."""
    return state._replace(
        **{name: cast_like(value, getattr(state, name)) for name, value in moments.items()},
        estim_lr=new_d.astype(d.dtype),
        numerator_weighted=numerator.astype(state.numerator_weighted.dtype),
        count=count,
    )
