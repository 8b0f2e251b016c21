"""ADOPT: Adam that normalizes the gradient by the *previous* second moment (`scale_by_adopt`).

The arithmetic mirrors `optax.contrib` 0.2.8 operation for operation.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, cast_like, promoted, tree_zeros_like
from gdx._common.moments import safe_increment, update_moment, update_moment_per_elem_norm, zero_count
from gdx.core import GradientTransformation, GradientTransformationExtraArgs
from gdx.transforms.adam import ScaleByAdamState


def _validate_adopt(who: str, b1: Any, b2: Any, eps: Any, clip_value_fn: Any) -> None:
    checks.adam_moments(who, b1, b2, eps)
    if not callable(clip_value_fn):
        raise TypeError(
            checks.message(
                who, "clip_value_fn", f"must be callable (step -> clip value), got {clip_value_fn!r}"
            )
        )


def scale_by_adopt(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.9999,
    eps: jax.typing.ArrayLike = 1e-6,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = lambda x: x**0.25,
) -> GradientTransformation:
    r"""Rescales updates by ADOPT: the gradient is normalized by the second moment of the *previous* steps.

    Update rule (`t` counts from 0; at `t = 0` only `nu` is initialized, `nu_0 = g_0**2`)::

        n = g_t / max(sqrt(nu_{t-1}), eps)
        n = clip(n, -c(t), c(t))                 # use_clipping, c = clip_value_fn, default t**0.25
        mu_t  = b1 * mu_{t-1} + (1 - b1) * n
        nu_t  = b2 * nu_{t-1} + (1 - b2) * g_t**2
        u = mu_t                                 # nesterov: u = b1 * mu_t + (1 - b1) * n

    Args:
      b1: decay of the first moment, in [0, 1). Default 0.9.
      b2: decay of the second moment, in [0, 1). Default 0.9999.
      eps: floor of the normalizing root, >= 0. Default 1e-6.
      mu_dtype: dtype of the first moment in state; `None` keeps the params'.
      nesterov: Nesterov momentum. Default False.
      use_clipping: clip the normalized gradient to `[-c(t), c(t)]`. Default True.
      clip_value_fn: `step -> clip value`, default `step**0.25`. gdx passes the
        step as a float32 scalar (optax passes the int32 count), so the default
        runs under strict dtype promotion; the values are the same.

    Returns:
      A `GradientTransformation` with state `ScaleByAdamState(count, mu, nu)`, as optax.

    Reference: Taniguchi et al., "ADOPT: Modified Adam Can Converge with Any beta2
    with the Optimal Rate", NeurIPS 2024.
    """
    who = "scale_by_adopt"
    _validate_adopt(who, b1, b2, eps, clip_value_fn)
    mu_dtype = canonical_dtype(mu_dtype)

    def normalized(g, nu, clip_value):
        n = promoted(jnp.divide, g, promoted(jnp.maximum, jnp.sqrt(nu), eps))
        if clip_value is None:
            return n
        clip_value = clip_value.astype(n.dtype)
        return jnp.clip(n, -clip_value, clip_value)

    def init(params):
        return ScaleByAdamState(
            count=zero_count(),
            mu=tree_zeros_like(params, dtype=mu_dtype),
            nu=tree_zeros_like(params),
        )

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        started = state.count > 0
        b2_now = jnp.where(started, b2, 0)
        b1_now = jnp.where(started, b1, 1)
        nu = update_moment_per_elem_norm(updates, state.nu, b2_now, 2)
        clip_value = jnp.asarray(clip_value_fn(state.count.astype(jnp.float32))) if use_clipping else None
        mu_updates = jax.tree.map(lambda g, v: normalized(g, v, clip_value), updates, state.nu)
        mu = update_moment(mu_updates, state.mu, b1_now, 1)
        new_updates = update_moment(mu_updates, mu, b1_now, 1) if nesterov else mu
        new_updates = jax.tree.map(lambda u, g: u.astype(g.dtype), new_updates, updates)
        return new_updates, ScaleByAdamState(
            count=safe_increment(state.count), mu=cast_like(mu, state.mu), nu=cast_like(nu, state.nu)
        )

    return GradientTransformationExtraArgs(init, update)
