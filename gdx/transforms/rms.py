"""The RMS family: `scale_by_rms` (RMSprop), `scale_by_stddev` (centered), `scale_by_rss` (AdaGrad).

Arithmetic mirrors optax 0.2.8 operation for operation; mixed dtypes are
combined explicitly (see `gdx.transforms.adam`) so the code runs under strict
promotion. Updates keep the grads' dtype, state leaves their initial dtype.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import cast_like, is_none, promoted, tree_zeros_like
from gdx._common.moments import (
    bias_correction as debias,
)
from gdx._common.moments import (
    safe_increment,
    update_moment,
    update_moment_per_elem_norm,
    zero_count,
)
from gdx._common.tree_math import abs_sq
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates, record_structure
from gdx.transforms.adam import _validate_nu_dtype


def _full_like(params: Any, fill_value: Any, dtype: Any = None) -> Any:
    return jax.tree.map(lambda x: jnp.full_like(x, fill_value, dtype=dtype), params)


def _scaled(scaling: Any, updates: Updates) -> Updates:
    """`u <- s * u` per leaf, the product in the promoted dtype, the result in the update's dtype."""
    return jax.tree.map(
        lambda s, g: None if g is None else promoted(jnp.multiply, s, g).astype(g.dtype),
        scaling,
        updates,
        is_leaf=is_none,
    )


def _inverse_root(second_moment: jax.Array, eps: Any, eps_in_sqrt: bool) -> jax.Array:
    """`1 / sqrt(n + eps)` if `eps_in_sqrt`, else `1 / (sqrt(n) + eps)`."""
    if eps_in_sqrt:
        return jax.lax.rsqrt(promoted(jnp.add, second_moment, eps))
    return 1 / promoted(jnp.add, jnp.sqrt(second_moment), eps)


def _validate_rms(who: str, decay: Any, eps: Any, initial_scale: Any) -> None:
    checks.decay_rate(who, "decay", decay)
    checks.non_negative(who, "eps", eps)
    checks.non_negative(who, "initial_scale", initial_scale)


# --- AdaGrad: root of the sum of squares ----------------------------------------


class ScaleByRssState(NamedTuple):
    """State of `scale_by_rss`: the running sum of squared gradients."""

    sum_of_squares: Updates


@docs.shared_args
def scale_by_rss(
    initial_accumulator_value: jax.typing.ArrayLike = 0.1,
    eps: jax.typing.ArrayLike = 1e-7,
) -> GradientTransformation:
    """Rescales updates by the root of the sum of all squared gradients so far (AdaGrad).

    Update rule::

        s <- s + |g|**2
        u <- g / sqrt(s + eps)      (0 where s == 0)

    Args:
      initial_accumulator_value, eps: {rss}

    Returns:
      A `GradientTransformation` with state `ScaleByRssState(sum_of_squares)`.
    """
    who = "scale_by_rss"
    checks.non_negative(who, "initial_accumulator_value", initial_accumulator_value)
    checks.non_negative(who, "eps", eps)

    def inverse_root(total):
        return jnp.where(total > 0, jax.lax.rsqrt(promoted(jnp.add, total, eps)), 0.0)

    def init(params):
        return ScaleByRssState(sum_of_squares=_full_like(params, initial_accumulator_value))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.sum_of_squares, who=who, what="state.sum_of_squares")
        sum_of_squares = jax.tree.map(
            lambda g, total: promoted(jnp.add, abs_sq(g), total), updates, state.sum_of_squares
        )
        scaling = jax.tree.map(inverse_root, sum_of_squares)
        updates = _scaled(scaling, updates)
        return updates, ScaleByRssState(sum_of_squares=cast_like(sum_of_squares, state.sum_of_squares))

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


# --- RMSprop -----------------------------------------------------------------------


class ScaleByRmsState(NamedTuple):
    """State of `scale_by_rms` without bias correction: the moving average of squared grads."""

    nu: Updates


class ScaleByRmsWithCountState(NamedTuple):
    """State of `scale_by_rms(bias_correction=True)`: int32 step count and `nu`."""

    count: jax.Array
    nu: Updates


@docs.shared_args
def scale_by_rms(
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Rescales updates by the root of a moving average of squared grads (RMSprop).

    Update rule (`t` counts from 1)::

        nu <- decay * nu + (1 - decay) * |g|**2
        nu_hat = nu / (1 - decay**t)     # if bias_correction, else nu
        u <- g / sqrt(nu_hat + eps)      # eps_in_sqrt=True
        u <- g / (sqrt(nu_hat) + eps)    # eps_in_sqrt=False

    `scale_by_rms(decay=b2, eps_in_sqrt=False, bias_correction=True)` is
    `scale_by_adam(b1=0, b2=b2)` without the first moment.

    Args:
      decay: decay of the moving average, in [0, 1). Default 0.9.
      eps, initial_scale, eps_in_sqrt: {rms}
      bias_correction: divide `nu` by `1 - decay**t`. Default False.
      nu_dtype: {rms}

    Returns:
      A `GradientTransformation` with state `ScaleByRmsState(nu)`, or
      `ScaleByRmsWithCountState(count, nu)` when `bias_correction`, as in optax.
    """
    who = "scale_by_rms"
    _validate_rms(who, decay, eps, initial_scale)
    nu_dtype = _validate_nu_dtype(who, nu_dtype)

    def init(params):
        nu = _full_like(params, initial_scale, nu_dtype)
        if bias_correction:
            return ScaleByRmsWithCountState(count=zero_count(), nu=nu)
        return ScaleByRmsState(nu=nu)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.nu, who=who, what="state.nu")
        nu = update_moment_per_elem_norm(updates, state.nu, decay, 2)
        if bias_correction:
            count_inc = safe_increment(state.count)
            nu_hat = debias(nu, decay, count_inc)
        else:
            nu_hat = nu
        scaling = jax.tree.map(lambda n: _inverse_root(n, eps, eps_in_sqrt), nu_hat)
        updates = _scaled(scaling, updates)
        nu = cast_like(nu, state.nu)
        if bias_correction:
            return updates, ScaleByRmsWithCountState(count=count_inc, nu=nu)
        return updates, ScaleByRmsState(nu=nu)

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


# --- centered RMSprop ---------------------------------------------------------------


class ScaleByRStdDevState(NamedTuple):
    """State of `scale_by_stddev` without bias correction: moving averages of grads and squares."""

    mu: Updates
    nu: Updates


class ScaleByRStdDevWithCountState(NamedTuple):
    """State of `scale_by_stddev(bias_correction=True)`: int32 step count, `mu` and `nu`."""

    count: jax.Array
    mu: Updates
    nu: Updates


@docs.shared_args
def scale_by_stddev(
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Rescales updates by the root of a moving estimate of the grads' variance (centered RMSprop).

    Update rule (`t` counts from 1)::

        mu <- decay * mu + (1 - decay) * g
        nu <- decay * nu + (1 - decay) * |g|**2
        mu_hat, nu_hat = mu / (1 - decay**t), nu / (1 - decay**t)   # if bias_correction
        u <- g / sqrt(nu_hat - |mu_hat|**2 + eps)      # eps_in_sqrt=True
        u <- g / (sqrt(nu_hat - |mu_hat|**2) + eps)    # eps_in_sqrt=False

    The variance `nu_hat - |mu_hat|**2` is never negative in exact arithmetic;
    when rounding makes it so (a bfloat16 or 8-bit `nu`, or `nu` ~ `mu**2` in
    float32), gdx takes it as 0 where optax returns NaN. Otherwise the numbers
    are optax's.

    Args:
      decay: decay of the moving averages, in [0, 1). Default 0.9.
      eps, initial_scale, eps_in_sqrt: {rms}
      bias_correction: bias-correct both moments. Default False.
      nu_dtype: gdx-only, dtype of `nu` in state; `None` keeps the params' dtype.
        The variance `nu - |mu|**2` cancels, so a bfloat16 `nu` costs more here
        than in `scale_by_rms`.

    Returns:
      A `GradientTransformation` with state `ScaleByRStdDevState(mu, nu)`, or
      `ScaleByRStdDevWithCountState(count, mu, nu)` when `bias_correction`.

    Reference: Graves, "Generating Sequences With Recurrent Neural Networks", 2013.
    """
    who = "scale_by_stddev"
    _validate_rms(who, decay, eps, initial_scale)
    nu_dtype = _validate_nu_dtype(who, nu_dtype)

    def variance(m, n):
        # Clamped at 0: rounding of the state can make n < |m|**2 (see the docstring).
        return jnp.maximum(promoted(jnp.subtract, n, abs_sq(m)), 0)

    def init(params):
        mu = tree_zeros_like(params)
        nu = _full_like(params, initial_scale, nu_dtype)
        if bias_correction:
            return ScaleByRStdDevWithCountState(count=zero_count(), mu=mu, nu=nu)
        return ScaleByRStdDevState(mu=mu, nu=nu)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        mu = update_moment(updates, state.mu, decay, 1)
        nu = update_moment_per_elem_norm(updates, state.nu, decay, 2)
        if bias_correction:
            count_inc = safe_increment(state.count)
            mu_hat = debias(mu, decay, count_inc)
            nu_hat = debias(nu, decay, count_inc)
        else:
            mu_hat, nu_hat = mu, nu
        scaling = jax.tree.map(lambda m, n: _inverse_root(variance(m, n), eps, eps_in_sqrt), mu_hat, nu_hat)
        updates = _scaled(scaling, updates)
        mu, nu = cast_like(mu, state.mu), cast_like(nu, state.nu)
        if bias_correction:
            return updates, ScaleByRStdDevWithCountState(count=count_inc, mu=mu, nu=nu)
        return updates, ScaleByRStdDevState(mu=mu, nu=nu)

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)
