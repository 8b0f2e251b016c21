"""AdEMAMix and Simplified AdEMAMix: Adam with a mixture of a fast and a slow momentum.

`scale_by_ademamix` / `ademamix` and `scale_by_simplified_ademamix` /
`simplified_ademamix`. The arithmetic mirrors `optax.contrib` 0.2.8 operation
for operation.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, cast_like, promoted, tree_zeros_like
from gdx._common.moments import (
    bias_correction,
    divide_by_root,
    safe_increment,
    update_moment,
    update_moment_per_elem_norm,
    zero_count,
)
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    ScalarOrSchedule,
    Updates,
)


def _decay_or_schedule(who: str, name: str, value: Any) -> None:
    if not callable(value):
        checks.decay_rate(who, name, value)


def _number_or_schedule(who: str, name: str, value: Any) -> None:
    checks.schedule_or_number(who, name, value)


def _adam_ratio(numerator: jax.Array, nu_hat: jax.Array, eps: Any, eps_root: Any, g: jax.Array) -> jax.Array:
    """`numerator / (sqrt(nu_hat + eps_root) + eps)` in the grad's dtype."""
    return divide_by_root(numerator, nu_hat, eps, eps_root, g.dtype)


# --- AdEMAMix ----------------------------------------------------------------------


class ScaleByAdemamixState(NamedTuple):
    """State of `scale_by_ademamix`: step counts (fast EMA / slow EMA and alpha), the two EMAs, `nu`."""

    count: jax.Array
    count_m2: jax.Array
    m1: Updates
    m2: Updates
    nu: Updates


def scale_by_ademamix(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    b3: ScalarOrSchedule = 0.9999,
    alpha: ScalarOrSchedule = 6.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
) -> GradientTransformation:
    r"""Rescales updates by AdEMAMix: a fast bias-corrected EMA plus `alpha` times a slow EMA.

    Update rule (`t` counts from 1; `b3(t - 1)`, `alpha(t - 1)` when scheduled)::

        m1 <- b1 * m1 + (1 - b1) * g
        m2 <- b3 * m2 + (1 - b3) * g           # not bias-corrected: it fills slowly on purpose
        nu <- b2 * nu + (1 - b2) * g**2
        u  <- (m1 / (1 - b1**t) + alpha * m2) / (sqrt(nu / (1 - b2**t) + eps_root) + eps)

    Args:
      b1: decay of the fast EMA, in [0, 1). Default 0.9.
      b2: decay of the second moment, in [0, 1). Default 0.999.
      b3: decay of the slow EMA, in [0, 1), or a schedule (the paper warms it
        up from b1 to b3). Default 0.9999.
      alpha: weight of the slow EMA, a number or a schedule (the paper warms it
        up linearly). Default 6.0 here (optax's), 5.0 in `ademamix`.
      eps: added outside the square root, >= 0. Default 1e-8.
      eps_root: added inside the square root, >= 0. Default 0.
      mu_dtype: dtype of `m1`, `m2` and `nu` in state (as optax); `None` keeps the params'.
        State dtypes never change between steps; optax turns a bfloat16 `m2` into
        float32 when `b3` is a float32 schedule (which breaks a `lax.scan` carry).

    Returns:
      A `GradientTransformation` with state `ScaleByAdemamixState(count, count_m2, m1, m2, nu)`.

    Reference: Pagliardini, Ablin & Grangier, "The AdEMAMix Optimizer: Better,
    Faster, Older", 2024.
    """
    who = "scale_by_ademamix"
    checks.adam_moments(who, b1, b2, eps, eps_root)
    _decay_or_schedule(who, "b3", b3)
    _number_or_schedule(who, "alpha", alpha)
    mu_dtype = canonical_dtype(mu_dtype)

    def init(params):
        return ScaleByAdemamixState(
            count=zero_count(),
            count_m2=zero_count(),
            m1=tree_zeros_like(params, dtype=mu_dtype),
            m2=tree_zeros_like(params, dtype=mu_dtype),
            nu=tree_zeros_like(params, dtype=mu_dtype),
        )

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.m1, who=who, what="state.m1")
        b3_now = b3(state.count_m2) if callable(b3) else b3
        alpha_now = alpha(state.count_m2) if callable(alpha) else alpha
        m1 = update_moment(updates, state.m1, b1, 1)
        m2 = update_moment(updates, state.m2, b3_now, 1)
        nu = update_moment_per_elem_norm(updates, state.nu, b2, 2)
        count_inc = safe_increment(state.count)
        m1_hat = bias_correction(m1, b1, count_inc)
        nu_hat = bias_correction(nu, b2, count_inc)
        new_updates = jax.tree.map(
            lambda m1_, m2_, v, g: _adam_ratio(
                promoted(jnp.add, m1_, promoted(jnp.multiply, alpha_now, m2_)), v, eps, eps_root, g
            ),
            m1_hat,
            m2,
            nu_hat,
            updates,
        )
        return new_updates, ScaleByAdemamixState(
            count=count_inc,
            count_m2=safe_increment(state.count_m2),
            m1=cast_like(m1, state.m1),
            m2=cast_like(m2, state.m2),
            nu=cast_like(nu, state.nu),
        )

    return GradientTransformationExtraArgs(init, update)


# --- Simplified AdEMAMix -----------------------------------------------------------


class ScaleBySimplifiedAdEMAMixState(NamedTuple):
    """State of `scale_by_simplified_ademamix`: int32 step count `t`, the EMA `m`, second moment `n`."""

    t: jax.Array
    m: Updates
    n: Updates


def scale_by_simplified_ademamix(
    b1: jax.typing.ArrayLike = 0.99,
    b2: jax.typing.ArrayLike = 0.95,
    alpha: ScalarOrSchedule = 0.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
) -> GradientTransformation:
    r"""Rescales updates by Simplified AdEMAMix: one undamped momentum plus `alpha` times the gradient.

    Update rule (`t` counts from 1; `alpha(t - 1)` when scheduled)::

        m <- b1 * m + g                         # no (1 - b1) factor
        n <- g**2 + b2 * (n - g**2)             # = b2 * n + (1 - b2) * g**2, computed as optax
        u <- (m + alpha * g) / (sqrt(n / (1 - b2**t) + eps_root) + eps)

    Args:
      b1: momentum decay, in [0, 1). Default 0.99.
      b2: decay of the second moment, in [0, 1). Default 0.95.
      alpha: weight of the current gradient, a number or a schedule. Default 0.
      eps: added outside the square root, >= 0. Default 1e-8.
      eps_root: added inside the square root, >= 0. Default 0.

    Returns:
      A `GradientTransformation` with state `ScaleBySimplifiedAdEMAMixState(t, m, n)`.

    Reference: Morwani, Shapira, Vyas, Malach, Kakade & Janson, "Connections
    between Schedule-Free Optimizers, AdEMAMix, and Accelerated SGD Variants", 2025.
    """
    who = "scale_by_simplified_ademamix"
    checks.adam_moments(who, b1, b2, eps, eps_root)
    _number_or_schedule(who, "alpha", alpha)

    def second_moment(g, n):
        squared = g * g
        return promoted(jnp.add, squared, promoted(jnp.multiply, b2, promoted(jnp.subtract, n, squared)))

    def init(params):
        return ScaleBySimplifiedAdEMAMixState(
            t=zero_count(), m=tree_zeros_like(params), n=tree_zeros_like(params)
        )

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.m, who=who, what="state.m")
        alpha_now = alpha(state.t) if callable(alpha) else alpha
        m = jax.tree.map(lambda g, m: promoted(jnp.add, g, promoted(jnp.multiply, b1, m)), updates, state.m)
        n = jax.tree.map(second_moment, updates, state.n)
        t = safe_increment(state.t)
        n_hat = bias_correction(n, b2, t)
        new_updates = jax.tree.map(
            lambda m_, v, g: _adam_ratio(
                promoted(jnp.add, m_, promoted(jnp.multiply, alpha_now, g)), v, eps, eps_root, g
            ),
            m,
            n_hat,
            updates,
        )
        return new_updates, ScaleBySimplifiedAdEMAMixState(
            t=t, m=cast_like(m, state.m), n=cast_like(n, state.n)
        )

    return GradientTransformationExtraArgs(init, update)
