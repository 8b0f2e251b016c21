"""MoMo's update rules (`scale_by_momo`, `scale_by_momo_adam`): momentum with a Polyak-type step size."""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import cast_like, promoted, promoted_py, scalar_dtype, tree_zeros_like
from gdx._common.moments import decay_power, safe_increment, zero_count
from gdx._common.tree_math import array_vdot as tree_vdot
from gdx._common.tree_math import squared_global_norm as tree_squared_norm
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, ScalarOrSchedule, Updates

# optax compares the model's squared norm with float64's machine epsilon (`jnp.finfo(float).eps`).
_TINY = float(jnp.finfo(float).eps)


class MomoState(NamedTuple):
    """State of `scale_by_momo` (and `momo`), optax's layout: the gradient average `d`, the loss
    average `f_bar`, the average of `<g, x>` (`gamma`), the loss lower bound and an int32 count."""

    exp_avg: Updates
    barf: jax.Array
    gamma: jax.Array
    lb: jax.Array
    count: jax.Array


class MomoAdamState(NamedTuple):
    """State of `scale_by_momo_adam` (and `momo_adam`), optax's layout: Adam's moments, the loss
    average `f_bar`, the average of `<g, x>` (`gamma`), the loss lower bound and an int32 count."""

    exp_avg: Updates
    exp_avg_sq: Updates
    barf: jax.Array
    gamma: jax.Array
    lb: jax.Array
    count: jax.Array


def _require_value(who: str, value: Any) -> None:
    if value is None:
        raise ValueError(
            f"{who} needs the loss: call update(grads, state, params, value=loss) "
            "(jax.value_and_grad gives both)"
        )


def _validate_common(who: str, learning_rate: Any, lower_bound: Any, weight_decay: Any) -> None:
    checks.learning_rate(who, learning_rate)
    checks.finite(who, "lower_bound", lower_bound)
    checks.non_negative(who, "weight_decay", weight_decay)


def _init_scalars(params: Any, lower_bound: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    dtype = scalar_dtype(params)
    return jnp.zeros([], dtype), jnp.zeros([], dtype), jnp.asarray(lower_bound).astype(dtype)


@docs.shared_args
def scale_by_momo(
    learning_rate: ScalarOrSchedule = 1.0,
    beta: jax.typing.ArrayLike = 0.9,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    """MoMo's whole update: SGD with momentum, the step `min(learning_rate, Polyak-type step)`.

    Pass the loss: `update(grads, state, params, value=loss)`. Update rule
    (`a = learning_rate` at this count, `lam = weight_decay`, `f*` the lower
    bound; at the first step `b = 0`, later `b = beta`)::

        d     <- b * d + (1 - b) * g
        f_bar <- b * f_bar + (1 - b) * value
        gamma <- b * gamma + (1 - b) * <g, x>
        tau   = min(a, max((1 + a*lam) * (f_bar - f* - gamma) + <d, x>, 0) / ||d||**2)   # 0 if d == 0
        x_new = (x - tau * d) / (1 + a*lam),   i.e.  u <- -(a*lam) / (1 + a*lam) * x - tau * d / (1 + a*lam)

    With `adapt_lower_bound`, `f*` is estimated on the fly (the paper's MoMo*)
    and never drops below `lower_bound`.

    Difference from optax (deliberate, only with `weight_decay > 0`): optax's
    update is `-(a*lam) / (1 + a*lam) * x - tau * d`, without the division of
    the step by `1 + a*lam`. MoMo's step with weight decay solves the proximal
    problem `min_y max(model(y), f*) + lam/2 ||y||**2 + ||y - x||**2 / (2a)`,
    whose solution is `y = (x - tau * d) / (1 + a*lam)` with exactly the
    `tau` above.
    With `weight_decay = 0` (the default) gdx and optax agree bit for bit.

    Args:
      learning_rate, beta, lower_bound, weight_decay, adapt_lower_bound: {momo}

    The learning rate is part of the rule (it caps the Polyak step and sets the
    weight decay's shrink), so it is an argument here and not a chained
    `scale_by_learning_rate`; the updates are descent steps (add them to the
    params). `gdx.momo` is this transformation under optax's name.

    Returns:
      A `GradientTransformation` with state `MomoState`; `update` needs `params` and `value`.
      Scalar state is in the params' highest float dtype (optax's changes dtype
      after one step on mixed float32/bfloat16 trees, which breaks `jit` loops).

    Reference: Schaipp, Ohana, Eickenberg, Defazio & Gower, "MoMo: Momentum Models
    for Adaptive Learning Rates", ICML 2024 (arXiv:2305.07583).
    """
    who = "scale_by_momo"
    named = checks.caller(who)  # the recipe the user called, for errors at init/update
    _validate_common(who, learning_rate, lower_bound, weight_decay)
    checks.decay_rate(who, "beta", beta)

    def init(params):
        checks.check_float_params(params, who=named)
        barf, gamma, lb = _init_scalars(params, lower_bound)
        return MomoState(tree_zeros_like(params), barf, gamma, lb, zero_count())

    def update(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        checks.require_params(named, params)
        _require_value(named, value)
        checks.check_same_structure(updates, state.exp_avg, who=named, what="state.exp_avg")
        b = jnp.where(state.count == 0, 0.0, beta)
        barf = promoted_py(
            jnp.add,
            promoted_py(jnp.multiply, b, state.barf),
            promoted_py(jnp.multiply, 1 - b, jnp.asarray(value).astype(state.barf.dtype)),
        )
        exp_avg = jax.tree.map(
            lambda d, g: promoted_py(
                jnp.add, promoted_py(jnp.multiply, b, d), promoted_py(jnp.multiply, 1 - b, g)
            ),
            state.exp_avg,
            updates,
        )
        gamma = promoted_py(
            jnp.add,
            promoted_py(jnp.multiply, b, state.gamma),
            promoted_py(jnp.multiply, 1 - b, tree_vdot(updates, params)),
        )
        norm = tree_squared_norm(exp_avg)
        inner = tree_vdot(exp_avg, params)
        alpha = learning_rate(state.count) if callable(learning_rate) else learning_rate
        shrink = promoted_py(jnp.add, 1, promoted_py(jnp.multiply, alpha, weight_decay))
        if adapt_lower_bound:
            cap = promoted_py(
                jnp.add, promoted_py(jnp.multiply, shrink, promoted_py(jnp.subtract, barf, gamma)), inner
            )
            lb = jnp.where(
                cap < promoted_py(jnp.multiply, shrink, state.lb),
                promoted(
                    jnp.maximum,
                    promoted_py(jnp.divide, cap, promoted_py(jnp.multiply, 2, shrink)),
                    lower_bound,
                ),
                state.lb,
            )
        else:
            lb = state.lb
        gap = promoted_py(
            jnp.add,
            promoted_py(
                jnp.multiply, shrink, promoted_py(jnp.subtract, promoted_py(jnp.subtract, barf, lb), gamma)
            ),
            inner,
        )
        polyak = promoted_py(jnp.divide, promoted(jnp.maximum, gap, 0.0), norm)
        polyak = jnp.where(norm <= _TINY, 0.0, polyak)
        tau = promoted(jnp.minimum, alpha, polyak)
        decay = promoted_py(jnp.divide, -promoted_py(jnp.multiply, alpha, weight_decay), shrink)
        new_updates = jax.tree.map(
            lambda d, p, g: promoted_py(
                jnp.subtract,
                promoted_py(jnp.multiply, decay, p),
                promoted_py(jnp.divide, promoted_py(jnp.multiply, tau, d), shrink),
            ).astype(g.dtype),
            exp_avg,
            params,
            updates,
        )
        if adapt_lower_bound:
            new_lb = promoted(
                jnp.maximum,
                promoted_py(
                    jnp.subtract,
                    promoted_py(jnp.subtract, promoted_py(jnp.add, barf, inner), gamma),
                    promoted_py(jnp.multiply, promoted_py(jnp.multiply, 0.5, tau), norm),
                ),
                lower_bound,
            )
        else:
            new_lb = state.lb
        return new_updates, MomoState(
            exp_avg=cast_like(exp_avg, state.exp_avg),
            barf=barf.astype(state.barf.dtype),
            gamma=gamma.astype(state.gamma.dtype),
            lb=jnp.asarray(new_lb).astype(state.lb.dtype),
            count=safe_increment(state.count),
        )

    return GradientTransformationExtraArgs(init, update)


@docs.shared_args
def scale_by_momo_adam(
    learning_rate: ScalarOrSchedule = 1e-2,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    """MoMo-Adam's whole update: Adam(W) with the step `min(learning_rate / c1, Polyak-type step)`.

    Pass the loss: `update(grads, state, params, value=loss)`. Update rule
    (`t` counts from 1, `a = learning_rate`, `lam = weight_decay`, `f*` the lower bound,
    `c1 = 1 - b1**t`, `c2 = 1 - b2**t`)::

        d     <- b1 * d + (1 - b1) * g
        v     <- b2 * v + (1 - b2) * g**2
        f_bar <- b1 * f_bar + (1 - b1) * value
        gamma <- b1 * gamma + (1 - b1) * <g, x>
        D     = eps + sqrt(v / c2)
        tau   = min(a / c1, max((1 + a*lam) * (f_bar - c1 * f* - gamma) + <d, x>, 0) / <d, d / D>)
        x_new = (x - tau * d / D) / (1 + a*lam)

    With `adapt_lower_bound`, `f*` is estimated on the fly and never drops
    below `lower_bound`. With `weight_decay > 0` gdx divides the whole new point
    by `1 + a*lam` as the proximal step requires, where optax leaves `tau * d / D`
    undivided (see `scale_by_momo`); with `weight_decay = 0` (the default) they agree.

    Args:
      learning_rate, b1, b2, eps, lower_bound, weight_decay, adapt_lower_bound: {momo_adam}

    The learning rate is part of the rule (it caps the Polyak step and sets the
    weight decay's shrink), so it is an argument here and not a chained
    `scale_by_learning_rate`; the updates are descent steps (add them to the
    params). `gdx.momo_adam` is this transformation under optax's name.

    Returns:
      A `GradientTransformation` with state `MomoAdamState`; `update` needs `params` and `value`.

    Reference: Schaipp, Ohana, Eickenberg, Defazio & Gower, "MoMo: Momentum Models
    for Adaptive Learning Rates", ICML 2024 (arXiv:2305.07583).
    """
    who = "scale_by_momo_adam"
    named = checks.caller(who)  # the recipe the user called, for errors at init/update
    _validate_common(who, learning_rate, lower_bound, weight_decay)
    checks.decay_rate(who, "b1", b1)
    checks.decay_rate(who, "b2", b2)
    checks.non_negative(who, "eps", eps)

    def init(params):
        checks.check_float_params(params, who=named)
        barf, gamma, lb = _init_scalars(params, lower_bound)
        zeros = tree_zeros_like(params)
        return MomoAdamState(zeros, tree_zeros_like(params), barf, gamma, lb, zero_count())

    def update(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        checks.require_params(named, params)
        _require_value(named, value)
        checks.check_same_structure(updates, state.exp_avg, who=named, what="state.exp_avg")
        count_inc = safe_increment(state.count)
        dtype = state.barf.dtype
        barf = promoted_py(
            jnp.add,
            promoted_py(jnp.multiply, b1, state.barf),
            promoted_py(jnp.multiply, 1 - b1, jnp.asarray(value).astype(dtype)),
        )
        exp_avg = jax.tree.map(
            lambda d, g: promoted_py(
                jnp.add, promoted_py(jnp.multiply, b1, d), promoted_py(jnp.multiply, 1 - b1, g)
            ),
            state.exp_avg,
            updates,
        )
        exp_avg_sq = jax.tree.map(
            lambda v, g: promoted_py(
                jnp.add,
                promoted_py(jnp.multiply, b2, v),
                promoted_py(jnp.multiply, promoted_py(jnp.multiply, 1 - b2, g), g),
            ),
            state.exp_avg_sq,
            updates,
        )
        c2 = promoted_py(jnp.subtract, 1, decay_power(b2, count_inc)).astype(dtype)
        precond = jax.tree.map(
            lambda v: promoted_py(jnp.add, eps, jnp.sqrt(promoted_py(jnp.divide, v, c2))), exp_avg_sq
        )
        norm = tree_vdot(exp_avg, jax.tree.map(functools.partial(promoted_py, jnp.divide), exp_avg, precond))
        gamma = promoted_py(
            jnp.add,
            promoted_py(jnp.multiply, b1, state.gamma),
            promoted_py(jnp.multiply, 1 - b1, tree_vdot(updates, params)),
        )
        inner = tree_vdot(exp_avg, params)
        alpha = learning_rate(state.count) if callable(learning_rate) else learning_rate
        c1 = promoted_py(jnp.subtract, 1, decay_power(b1, count_inc)).astype(dtype)
        shrink = promoted_py(jnp.add, 1, promoted_py(jnp.multiply, alpha, weight_decay))
        if adapt_lower_bound:
            cap = promoted_py(
                jnp.add, promoted_py(jnp.multiply, shrink, promoted_py(jnp.subtract, barf, gamma)), inner
            )
            lb = jnp.where(
                cap < promoted_py(jnp.multiply, promoted_py(jnp.multiply, shrink, c1), state.lb),
                promoted(
                    jnp.maximum,
                    promoted_py(
                        jnp.divide, cap, promoted_py(jnp.multiply, promoted_py(jnp.multiply, 2, c1), shrink)
                    ),
                    lower_bound,
                ),
                state.lb,
            )
        else:
            lb = state.lb
        gap = promoted_py(
            jnp.add,
            promoted_py(
                jnp.multiply,
                shrink,
                promoted_py(
                    jnp.subtract, promoted_py(jnp.subtract, barf, promoted_py(jnp.multiply, c1, lb)), gamma
                ),
            ),
            inner,
        )
        polyak = promoted_py(jnp.divide, promoted(jnp.maximum, gap, 0.0), norm)
        polyak = jnp.where(norm <= _TINY, 0.0, polyak)
        tau = promoted(jnp.minimum, promoted_py(jnp.divide, alpha, c1), polyak)
        decay = promoted_py(jnp.divide, -promoted_py(jnp.multiply, alpha, weight_decay), shrink)
        new_updates = jax.tree.map(
            lambda d, pre, p, g: promoted_py(
                jnp.subtract,
                promoted_py(jnp.multiply, decay, p),
                promoted_py(
                    jnp.divide, promoted_py(jnp.divide, promoted_py(jnp.multiply, tau, d), pre), shrink
                ),
            ).astype(g.dtype),
            exp_avg,
            precond,
            params,
            updates,
        )
        if adapt_lower_bound:
            estimate = promoted_py(
                jnp.subtract,
                promoted_py(jnp.subtract, promoted_py(jnp.add, barf, inner), gamma),
                promoted_py(jnp.multiply, promoted_py(jnp.multiply, 0.5, tau), norm),
            )
            new_lb = promoted(jnp.maximum, promoted_py(jnp.divide, estimate, c1), lower_bound)
        else:
            new_lb = state.lb
        return new_updates, MomoAdamState(
            exp_avg=cast_like(exp_avg, state.exp_avg),
            exp_avg_sq=cast_like(exp_avg_sq, state.exp_avg_sq),
            barf=barf.astype(dtype),
            gamma=gamma.astype(state.gamma.dtype),
            lb=jnp.asarray(new_lb).astype(state.lb.dtype),
            count=count_inc,
        )

    return GradientTransformationExtraArgs(init, update)
