"""Adan: adaptive Nesterov momentum without an extra gradient evaluation (`scale_by_adan`).

The arithmetic mirrors optax 0.2.8 operation for operation (bit for bit in
float32), written to run under strict dtype promotion. Updates keep the
grads' dtype and state leaves the dtype they were initialized with.
"""

from typing import Any, NamedTuple

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
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates
from gdx.transforms.adam import _validate_nu_dtype


class ScaleByAdanState(NamedTuple):
    """State of `scale_by_adan`: the three moments, the previous gradient and the int32 step count `t`."""

    m: Updates
    v: Updates
    n: Updates
    g: Updates
    t: jax.Array


@docs.shared_args
def scale_by_adan(
    b1: jax.typing.ArrayLike = 0.98,
    b2: jax.typing.ArrayLike = 0.92,
    b3: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Rescales updates by Adan: moments of the gradient, of its change, and of their Nesterov sum.

    Update rule (`t` counts from 1; the gradient change is 0 at the first step)::

        diff = g - g_prev
        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * diff
        n <- b3 * n + (1 - b3) * (g + (1 - b2) * diff)**2
        u <- (m / (1 - b1**t) + (1 - b2) * v / (1 - b2**t))
             / (sqrt(n / (1 - b3**t) + eps_root) + eps)

    Note that `b1, b2, b3` weight the *old* moments, as in optax (the paper
    writes `1 - b` for the same quantities), and that the moments are
    bias-corrected (the paper's Algorithm 1 initialises them from the first
    gradient instead).

    Args:
      b1, b2, b3: {adan}
      eps: {adam}
      eps_root: added inside the square root, >= 0. Default 0.
      nu_dtype: {adan}

    Returns:
      A `GradientTransformation` with state `ScaleByAdanState(m, v, n, g, t)`, as in optax.

    Reference: Xie et al., "Adan: Adaptive Nesterov Momentum Algorithm for
    Faster Optimizing Deep Models", 2022 (https://arxiv.org/abs/2208.06677).
    """
    who = "scale_by_adan"
    for name, value in (("b1", b1), ("b2", b2), ("b3", b3)):
        checks.decay_rate(who, name, value)
    checks.non_negative(who, "eps", eps)
    checks.non_negative(who, "eps_root", eps_root)
    nu_dtype = _validate_nu_dtype(who, nu_dtype)

    def init(params):
        return ScaleByAdanState(
            m=tree_zeros_like(params),
            v=tree_zeros_like(params),
            n=tree_zeros_like(params, dtype=nu_dtype),
            g=tree_zeros_like(params),
            t=zero_count(),
        )

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.m, who=who, what="state.m")
        g = updates
        # optax scales by `jnp.asarray(1 - b2)` (a weak-typed array when b2 is a Python float).
        change_weight = jnp.asarray(1 - b2)
        first_step = state.t == 0
        diff = jax.tree.map(
            lambda change: jnp.where(first_step, jnp.zeros_like(change), change),
            jax.tree.map(lambda new, old: promoted(jnp.subtract, new, old), g, state.g),
        )
        m = update_moment(g, state.m, b1, 1)
        v = update_moment(diff, state.v, b2, 1)
        nesterov_gradient = jax.tree.map(
            lambda x, d: promoted(jnp.add, x, promoted(jnp.multiply, change_weight, d)), g, diff
        )
        n = update_moment_per_elem_norm(nesterov_gradient, state.n, b3, 2)
        t = safe_increment(state.t)
        m_hat = bias_correction(m, b1, t)
        v_hat = bias_correction(v, b2, t)
        n_hat = bias_correction(n, b3, t)

        def direction(mh, vh, nh, grad):
            numerator = promoted(jnp.add, mh, promoted(jnp.multiply, change_weight, vh))
            return divide_by_root(numerator, nh, eps, eps_root, grad.dtype)

        new_updates = jax.tree.map(direction, m_hat, v_hat, n_hat, g)
        new_state = ScaleByAdanState(
            m=cast_like(m, state.m),
            v=cast_like(v, state.v),
            n=cast_like(n, state.n),
            g=cast_like(g, state.g),
            t=t,
        )
        return new_updates, new_state

    return GradientTransformationExtraArgs(init, update)
