"""The Adam family of rescalings: `scale_by_adam`, `scale_by_amsgrad`, `scale_by_adamax`.

The arithmetic mirrors optax 0.2.8 operation for operation, so results agree
with optax bit for bit in float32. Mixed dtypes (a `mu_dtype` accumulator, a
traced float32 hyperparameter next to a bfloat16 leaf) are combined the way
standard promotion would combine them, but explicitly, so the code also runs
under `jax.numpy_dtype_promotion('strict')`. Updates keep the dtype of the
grads, and state leaves keep the dtype they were initialized with.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import cast_like, is_none, promoted, tree_zeros_like
from gdx._common.moments import (
    bias_correction,
    divide_by_root,
    safe_increment,
    update_moment,
    update_moment_per_elem_norm,
    zero_count,
)
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates, record_structure


def _divide_by_root(m: Any, v: Any, g: Any, eps: Any, eps_root: Any | None) -> Any:
    """`m / (sqrt(v + eps_root) + eps)` (`sqrt(v)` if `eps_root` is None), in the grad's dtype."""
    return None if m is None else divide_by_root(m, v, eps, eps_root, g.dtype)


def _bias_corrected_first_moment(mu: Updates, updates: Updates, b1: Any, count: jax.Array, nesterov: bool):
    """`mu / (1 - b1**t)`, or with `nesterov` NAdam's look-ahead `b1 * mu_hat(t+1) + (1 - b1) * g_hat(t)`."""
    if not nesterov:
        return bias_correction(mu, b1, count)
    return jax.tree.map(
        lambda m, g: promoted(jnp.add, promoted(jnp.multiply, b1, m), promoted(jnp.multiply, 1 - b1, g)),
        bias_correction(mu, b1, safe_increment(count)),
        bias_correction(updates, b1, count),
    )


def _moments(updates: Updates, state: Any, b1: Any, b2: Any) -> tuple[Updates, Updates, jax.Array]:
    """Adam's `(mu, nu, t)` after a step: `b1 mu + (1 - b1) g`, `b2 nu + (1 - b2) |g|**2`, `t + 1`."""
    mu = update_moment(updates, state.mu, b1, 1)
    nu = update_moment_per_elem_norm(updates, state.nu, b2, 2)
    return mu, nu, safe_increment(state.count)


def _divided_by_root(mu_hat: Updates, nu_hat: Updates, updates: Updates, eps: Any, eps_root: Any | None):
    """`_divide_by_root` leaf by leaf: the update `mu_hat / (sqrt(nu_hat + eps_root) + eps)`."""
    return jax.tree.map(
        lambda m, v, g: _divide_by_root(m, v, g, eps, eps_root), mu_hat, nu_hat, updates, is_leaf=is_none
    )


def _adam_direction(
    mu: Updates,
    nu: Updates,
    updates: Updates,
    b1: Any,
    b2: Any,
    count: jax.Array,
    eps: Any,
    eps_root: Any,
    nesterov: bool,
) -> Updates:
    """Adam's update from its moments: both bias-corrected (`nesterov`: NAdam's mu), then divided."""
    mu_hat = _bias_corrected_first_moment(mu, updates, b1, count, nesterov)
    # Dozat's Algorithm 2 also multiplies nu_hat by b2; optax (and other NAdams) do not.
    nu_hat = bias_correction(nu, b2, count)
    return _divided_by_root(mu_hat, nu_hat, updates, eps, eps_root)


def _with_moments(state: Any, count: jax.Array, mu: Updates, nu: Updates, **others: Any) -> Any:
    """`state` with the new count and moments, each moment stored in its state dtype."""
    return state._replace(count=count, mu=cast_like(mu, state.mu), nu=cast_like(nu, state.nu), **others)


def _zero_moments(state: Any, params: Any, mu_dtype: Any = None, nu_dtype: Any = None, **others: Any) -> Any:
    """A fresh `state` (an Adam-like state class): count 0, zero `mu` and `nu` in the given dtypes."""
    mu = tree_zeros_like(params, dtype=mu_dtype)
    return state(count=zero_count(), mu=mu, nu=tree_zeros_like(params, dtype=nu_dtype), **others)


def _validate_mu_dtype(who: str, mu_dtype: Any, *, name: str = "mu_dtype") -> Any:
    if mu_dtype is None:
        return None
    try:
        dtype = jax.dtypes.canonicalize_dtype(mu_dtype)
    except TypeError as error:
        raise TypeError(f"{who}: {name} must be a floating-point dtype or None, got {mu_dtype!r}") from error
    if not jnp.issubdtype(dtype, jnp.inexact):
        raise ValueError(f"{who}: {name} must be a floating-point dtype or None, got {mu_dtype!r}")
    return dtype


def _validate_nu_dtype(who: str, nu_dtype: Any) -> Any:
    """Checks a gdx-only `nu_dtype` (dtype of second-moment state); `None` keeps the params' dtype."""
    return _validate_mu_dtype(who, nu_dtype, name="nu_dtype")


# --- Adam ----------------------------------------------------------------------


class ScaleByAdamState(NamedTuple):
    """State of `scale_by_adam` (and `scale_by_adamax`): int32 step count, first and second moments."""

    count: jax.Array
    mu: Updates
    nu: Updates


@docs.shared_args
def scale_by_adam(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    r"""Rescales updates by Adam's bias-corrected moment estimates.

    Update rule (`t` counts from 1)::

        mu  <- b1 * mu + (1 - b1) * g
        nu  <- b2 * nu + (1 - b2) * g**2
        mu_hat = mu / (1 - b1**t)                    # nesterov=False
        mu_hat = b1 * mu / (1 - b1**(t+1)) + (1 - b1) * g / (1 - b1**t)   # nesterov=True
        nu_hat = nu / (1 - b2**t)
        u <- mu_hat / (sqrt(nu_hat + eps_root) + eps)

    Args:
      b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype: {adam}

    Returns:
      A `GradientTransformation` with state `ScaleByAdamState(count, mu, nu)`.

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """
    who = "scale_by_adam"
    checks.adam_moments(who, b1, b2, eps, eps_root)
    mu_dtype = _validate_mu_dtype(who, mu_dtype)
    nu_dtype = _validate_nu_dtype(who, nu_dtype)

    def init(params):
        return _zero_moments(ScaleByAdamState, params, mu_dtype, nu_dtype)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        mu, nu, count_inc = _moments(updates, state, b1, b2)
        updates = _adam_direction(mu, nu, updates, b1, b2, count_inc, eps, eps_root, nesterov)
        return updates, _with_moments(state, count_inc, mu, nu)

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


# --- AMSGrad -------------------------------------------------------------------


class ScaleByAmsgradState(NamedTuple):
    """State of `scale_by_amsgrad`: step count, moments and the running maximum of `nu`."""

    count: jax.Array
    mu: Updates
    nu: Updates
    nu_max: Updates


@docs.shared_args
def scale_by_amsgrad(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Rescales updates by AMSGrad: Adam with a non-decreasing second moment.

    Update rule (`t` counts from 1)::

        mu  <- b1 * mu + (1 - b1) * g
        nu  <- b2 * nu + (1 - b2) * g**2
        mu_hat = mu / (1 - b1**t)          # if bias_correction_mu, else mu
        nu_eff = nu / (1 - b2**t)          # if bias_correction_nu, else nu
        nu_max <- max(nu_max, nu_eff)
        u <- mu_hat / (sqrt(nu_max + eps_root) + eps)

    Args:
      b1, b2, eps, eps_root, mu_dtype: {adam}
      bias_correction_mu, bias_correction_nu, nu_dtype: {amsgrad}

    Returns:
      A `GradientTransformation` with state `ScaleByAmsgradState(count, mu, nu, nu_max)`.

    Reference: Reddi, Kale & Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.
    """
    who = "scale_by_amsgrad"
    checks.adam_moments(who, b1, b2, eps, eps_root)
    mu_dtype = _validate_mu_dtype(who, mu_dtype)
    nu_dtype = _validate_nu_dtype(who, nu_dtype)

    def init(params):
        nu_max = tree_zeros_like(params, dtype=nu_dtype)
        return _zero_moments(ScaleByAmsgradState, params, mu_dtype, nu_dtype, nu_max=nu_max)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        mu, nu, count_inc = _moments(updates, state, b1, b2)
        mu_hat = bias_correction(mu, b1, count_inc) if bias_correction_mu else mu
        nu_eff = bias_correction(nu, b2, count_inc) if bias_correction_nu else nu
        nu_max = jax.tree.map(
            lambda old, new: promoted(jnp.maximum, old, new).astype(old.dtype), state.nu_max, nu_eff
        )
        updates = _divided_by_root(mu_hat, nu_max, updates, eps, eps_root)
        return updates, _with_moments(state, count_inc, mu, nu, nu_max=nu_max)

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


# --- Adamax --------------------------------------------------------------------


@docs.shared_args
def scale_by_adamax(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Rescales updates by Adamax: Adam with the infinity norm in place of the second moment.

    Update rule (`t` counts from 1)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- max(|g| + eps, b2 * nu)       # no bias correction needed
        u  <- (mu / (1 - b1**t)) / nu

    Args:
      b1: {adam}
      b2, eps, nu_dtype: {adamax}

    Returns:
      A `GradientTransformation` with state `ScaleByAdamState(count, mu, nu)`
      (`nu` holds the infinity norm), as in optax.

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, section 7.
    """
    who = "scale_by_adamax"
    checks.adam_moments(who, b1, b2, eps)
    nu_dtype = _validate_nu_dtype(who, nu_dtype)

    def infinity_norm(g, nu):
        if g is None:
            return None
        return promoted(jnp.maximum, promoted(jnp.add, jnp.abs(g), eps), promoted(jnp.multiply, b2, nu))

    def init(params):
        return _zero_moments(ScaleByAdamState, params, nu_dtype=nu_dtype)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        count_inc = safe_increment(state.count)
        mu = update_moment(updates, state.mu, b1, 1)
        nu = jax.tree.map(infinity_norm, updates, state.nu, is_leaf=is_none)
        mu_hat = bias_correction(mu, b1, count_inc)
        updates = jax.tree.map(
            lambda m, v, g: None if m is None else promoted(jnp.divide, m, v).astype(g.dtype),
            mu_hat,
            nu,
            updates,
            is_leaf=is_none,
        )
        return updates, _with_moments(state, count_inc, mu, nu)

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)
