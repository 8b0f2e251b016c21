"""Adam variants with their own second moment: AdaBelief, Yogi and Rectified Adam.

`scale_by_belief` tracks the variance of the gradient around its mean,
`scale_by_yogi` grows the second moment additively, and `scale_by_radam`
switches the adaptive step on only once its variance is tractable. The
arithmetic mirrors optax 0.2.8 operation for operation (bit for bit in
float32); mixed dtypes are combined as standard promotion would, but
explicitly, so the code runs under strict promotion. Updates keep the grads'
dtype and state leaves the dtype they were initialized with.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import is_none, promoted
from gdx._common.moments import (
    bias_correction,
    decay_power,
    divide_by_root,
    safe_increment,
    update_moment,
    update_moment_per_elem_norm,
    zero_count,
)
from gdx._common.tree_math import abs_sq
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates, record_structure
from gdx.transforms.adam import (
    ScaleByAdamState,
    _adam_direction,
    _bias_corrected_first_moment,
    _moments,
    _validate_nu_dtype,
    _with_moments,
    _zero_moments,
)

# --- AdaBelief -------------------------------------------------------------------


class ScaleByBeliefState(NamedTuple):
    """State of `scale_by_belief`: int32 step count, first moment and the prediction-error variance."""

    count: jax.Array
    mu: Updates
    nu: Updates


@docs.shared_args
def scale_by_belief(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Rescales updates by AdaBelief: Adam with the variance of the gradient around its mean.

    Update rule (`t` counts from 1)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- b2 * nu + (1 - b2) * (g - mu)**2 + eps_root
        mu_hat = mu / (1 - b1**t)      # nesterov: b1 * mu / (1 - b1**(t+1)) + (1 - b1) * g / (1 - b1**t)
        u  <- mu_hat / (sqrt(nu / (1 - b2**t)) + eps)

    Args:
      b1: {adam}
      b2, eps, eps_root: {belief}
      nesterov: use Nesterov momentum. Default False.
      nu_dtype: {adam_variants}

    Returns:
      A `GradientTransformation` with state `ScaleByBeliefState(count, mu, nu)`.

    Reference: Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the
    Belief in Observed Gradients", NeurIPS 2020 (https://arxiv.org/abs/2010.07468).
    """
    who = "scale_by_belief"
    checks.adam_moments(who, b1, b2, eps, eps_root)
    nu_dtype = _validate_nu_dtype(who, nu_dtype)

    def init(params):
        return _zero_moments(ScaleByBeliefState, params, nu_dtype=nu_dtype)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        mu = update_moment(updates, state.mu, b1, 1)
        prediction_error = jax.tree.map(lambda g, m: promoted(jnp.subtract, g, m), updates, mu)
        nu = update_moment_per_elem_norm(prediction_error, state.nu, b2, 2)
        nu = jax.tree.map(lambda v: promoted(jnp.add, v, eps_root), nu)
        count_inc = safe_increment(state.count)
        updates = _adam_direction(mu, nu, updates, b1, b2, count_inc, eps, None, nesterov)
        return updates, _with_moments(state, count_inc, mu, nu)

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


# --- Yogi ------------------------------------------------------------------------


@docs.shared_args
def scale_by_yogi(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-3,
    eps_root: jax.typing.ArrayLike = 0.0,
    initial_accumulator_value: jax.typing.ArrayLike = 1e-6,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Rescales updates by Yogi: Adam whose second moment changes additively, not multiplicatively.

    Update rule (`t` counts from 1, `|g|**2 = conj(g) * g` for complex `g`)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- nu - (1 - b2) * sign(nu - |g|**2) * |g|**2
        u  <- (mu / (1 - b1**t)) / (sqrt(nu / (1 - b2**t) + eps_root) + eps)

    Args:
      b1: {adam}
      b2, eps: {yogi}
      eps_root: added inside the square root, >= 0. Default 0.
      initial_accumulator_value: initial value of both moments, >= 0. Default 1e-6.
      nu_dtype: {adam_variants}

    Returns:
      A `GradientTransformation` with state `ScaleByAdamState(count, mu, nu)`, as in optax.

    Reference: Zaheer et al., "Adaptive Methods for Nonconvex Optimization", NeurIPS 2018.
    """
    who = "scale_by_yogi"
    checks.adam_moments(who, b1, b2, eps, eps_root)
    checks.non_negative(who, "initial_accumulator_value", initial_accumulator_value)
    nu_dtype = _validate_nu_dtype(who, nu_dtype)

    def second_moment(g, v):
        if g is None:
            return None
        squared = abs_sq(g)
        direction = jnp.sign(promoted(jnp.subtract, v, squared))
        change = promoted(jnp.multiply, promoted(jnp.multiply, 1 - b2, direction), squared)
        return promoted(jnp.subtract, v, change)

    def init(params):
        # Two separate trees: a state sharing buffers cannot be donated to a jitted step.
        def filled(dtype=None):
            return jax.tree.map(lambda x: jnp.full_like(x, initial_accumulator_value, dtype=dtype), params)

        return ScaleByAdamState(count=zero_count(), mu=filled(), nu=filled(nu_dtype))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        mu = update_moment(updates, state.mu, b1, 1)
        nu = jax.tree.map(second_moment, updates, state.nu, is_leaf=is_none)
        count_inc = safe_increment(state.count)
        updates = _adam_direction(mu, nu, updates, b1, b2, count_inc, eps, eps_root, False)
        return updates, _with_moments(state, count_inc, mu, nu)

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


# --- Rectified Adam ----------------------------------------------------------------


@docs.shared_args
def scale_by_radam(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    threshold: jax.typing.ArrayLike = 5.0,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Rescales updates by Rectified Adam: momentum SGD until Adam's variance is tractable.

    Update rule (`t` counts from 1)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- b2 * nu + (1 - b2) * g**2
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)      # length of the approximated SMA
        mu_hat = mu / (1 - b1**t)                        # nesterov: as in `scale_by_adam`
        if rho >= threshold:
            r = sqrt((rho - 4) (rho - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho))
            u <- r * mu_hat / (sqrt(nu / (1 - b2**t) + eps_root) + eps)
        else:
            u <- mu_hat

    Args:
      b1, b2, eps: {adam}
      eps_root: added inside the square root, >= 0. Default 0.
      threshold: {radam}
      nesterov: use Nesterov momentum. Default False.
      nu_dtype: {adam_variants}

    Returns:
      A `GradientTransformation` with state `ScaleByAdamState(count, mu, nu)`, as in optax.

    Reference: Liu et al., "On the Variance of the Adaptive Learning Rate and
    Beyond", ICLR 2020 (https://arxiv.org/abs/1908.03265).
    """
    who = "scale_by_radam"
    checks.adam_moments(who, b1, b2, eps, eps_root)
    nu_dtype = _validate_nu_dtype(who, nu_dtype)
    checks.finite(who, "threshold", threshold)
    rho_inf = 2.0 / (1.0 - b2) - 1.0

    def rectified(rho, mu_hat, nu_hat, updates):
        # The same expression as optax: Python-float factors stay Python floats.
        r = jnp.sqrt((rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho))

        def leaf(m, v, g):
            if m is None:
                return None
            scaled = promoted(jnp.multiply, r.astype(m.dtype), m)
            return divide_by_root(scaled, v, eps, eps_root, g.dtype)

        return jax.tree.map(leaf, mu_hat, nu_hat, updates, is_leaf=is_none)

    def init(params):
        return _zero_moments(ScaleByAdamState, params, nu_dtype=nu_dtype)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        mu, nu, count_inc = _moments(updates, state, b1, b2)
        b2_power = decay_power(b2, count_inc)
        rho = rho_inf - (2 * count_inc).astype(b2_power.dtype) * b2_power / (1 - b2_power)
        mu_hat = _bias_corrected_first_moment(mu, updates, b1, count_inc, nesterov)
        nu_hat = bias_correction(nu, b2, count_inc)
        tractable = rho >= threshold
        updates = jax.tree.map(
            lambda adaptive, momentum, g: (
                None if g is None else jnp.where(tractable, adaptive, momentum.astype(g.dtype))
            ),
            rectified(rho, mu_hat, nu_hat, updates),
            mu_hat,
            updates,
            is_leaf=is_none,
        )
        return updates, _with_moments(state, count_inc, mu, nu)

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)
