"""Mechanic: learns the scale (learning rate) of any base optimizer's updates, on the fly."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promote, promoted, promoted_py, scalar_dtype, tree_copy
from gdx._common.moments import safe_increment, zero_count
from gdx._common.tree_math import array_vdot as tree_vdot
from gdx._common.tree_math import global_norm
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Updates,
    with_extra_args_support,
)


class MechanicState(NamedTuple):
    """State of `mechanize`, optax's layout: the base optimizer's state, an int32 count, Mechanic's
    per-beta accumulators `r`, `m`, `v`, the per-beta scales `s` (shape `(num_betas,)` each) and
    the reference point `x0`."""

    base_optimizer_state: OptState
    count: jax.Array
    r: jax.Array
    m: jax.Array
    v: jax.Array
    s: jax.Array
    x0: Updates


def mechanize(
    base_optimizer: GradientTransformation,
    weight_decay: jax.typing.ArrayLike = 1e-2,
    eps: jax.typing.ArrayLike = 1e-8,
    s_init: jax.typing.ArrayLike = 1e-6,
    num_betas: int = 6,
) -> GradientTransformation:
    """Wraps `base_optimizer` and learns the scale of its updates (Mechanic).

    The params are kept at `x = x0 + sum(s) * Delta`, where `Delta` sums the
    base optimizer's updates and `s` is a vector of scales, one per
    `beta_i = 1 - 0.1**i` (`i = 1..num_betas`), learned by online betting.
    Each step (`g` the gradient, `x` the params, `u` the base update)::

        Delta_prev = (x0 - x) / (sum(s) + eps)             # -Delta, rebuilt from the params
        g'    = g + weight_decay * sum(s) * ||g|| / (||x|| + eps) * x
        h     = <g', Delta_prev>
        m     <- max(beta * m, |h| + eps)
        v     <- beta**2 * v + h**2
        r     <- beta * r + clip(h, -m_prev, m_prev) * s
        s     <- (s_init / num_betas * m + max(r, 0)) / (sqrt(v) + eps)
        x_new = x0 - sum(s) * (Delta_prev - u);   update = x_new - x

    `x0` is the params at the first `update`. The base optimizer's learning
    rate (or schedule) becomes a multiplier: give it 1.0 (or a schedule
    peaking at 1.0) and Mechanic finds the scale. As in optax (written by the
    paper's authors), `h` is clipped to the previous `m` before entering `r`.

    Args:
      base_optimizer: any transformation producing descent updates (`gdx.adam(1.0)`, ...).
      weight_decay: Mechanic's own decay on `h` (not the base optimizer's), >= 0. Default 1e-2.
      eps: numerical floor, > 0. Default 1e-8.
      s_init: initial scale per beta, > 0. Default 1e-6.
      num_betas: number of betas `1 - 0.1**i`, an integer >= 1. Default 6.

    Returns:
      A `GradientTransformation` with state `MechanicState`; `update` needs
      `params` and forwards extra arguments (`value=`, ...) to the base optimizer.
      Scalar state (`r`, `m`, `v`, `s`) is in the params' highest float dtype
      (optax's lowest fails on mixed float32/bfloat16 trees).

    Reference: Cutkosky, Defazio & Mehta, "Mechanic: A Learning Rate Tuner", NeurIPS 2023.
    """
    who = "mechanize"
    checks.non_negative(who, "weight_decay", weight_decay)
    checks.positive(who, "eps", eps)
    checks.positive(who, "s_init", s_init)
    checks.positive_int(who, "num_betas", num_betas)
    base = with_extra_args_support(base_optimizer)
    bet_fraction = s_init / num_betas

    def init(params):
        checks.check_float_params(params, who=who)
        dtype = scalar_dtype(params)
        return MechanicState(
            base_optimizer_state=base.init(params),
            count=zero_count(),
            r=jnp.zeros([num_betas], dtype),
            m=jnp.zeros([num_betas], dtype),
            v=jnp.zeros([num_betas], dtype),
            s=promoted_py(jnp.multiply, jnp.ones([num_betas], dtype), s_init).astype(dtype),
            x0=tree_copy(params),
        )

    def update(updates, state, params=None, **extra_args):
        checks.require_params(who, params)
        checks.check_same_structure(updates, state.x0, who=who, what="state.x0")
        base_updates, base_state = base.update(updates, state.base_optimizer_state, params, **extra_args)
        x0 = jax.tree.map(lambda p, x: jnp.where(state.count == 0, p, x), params, state.x0)
        s_sum = jnp.sum(state.s)
        grad_norm, param_norm = global_norm(updates), global_norm(params)
        decay = promoted_py(
            jnp.divide,
            promoted_py(jnp.multiply, promoted_py(jnp.multiply, weight_decay, s_sum), grad_norm),
            promoted_py(jnp.add, param_norm, eps),
        )
        decayed_grads = jax.tree.map(
            lambda g, p: promoted_py(jnp.add, g, promoted_py(jnp.multiply, decay, p)), updates, params
        )
        delta_prev = jax.tree.map(
            lambda x, start: promoted_py(
                jnp.divide, promoted_py(jnp.subtract, start, x), promoted_py(jnp.add, s_sum, eps)
            ),
            params,
            x0,
        )
        delta = jax.tree.map(functools.partial(promoted_py, jnp.subtract), delta_prev, base_updates)
        h = tree_vdot(decayed_grads, delta_prev)
        bound, h_vector = promote(state.m, promoted_py(jnp.multiply, jnp.ones_like(state.m), h))
        clipped_h = jax.lax.clamp(-bound, h_vector, bound)
        betas = jnp.array([1.0 - 0.1**i for i in range(1, num_betas + 1)], dtype=state.s.dtype)
        new_m = promoted(
            jnp.maximum, promoted_py(jnp.multiply, betas, state.m), promoted_py(jnp.add, jnp.abs(h), eps)
        )
        new_v = promoted_py(jnp.add, promoted_py(jnp.multiply, betas**2, state.v), h**2)
        new_r = promoted_py(
            jnp.add, promoted_py(jnp.multiply, betas, state.r), promoted_py(jnp.multiply, clipped_h, state.s)
        )
        wealth = promoted_py(
            jnp.add, promoted_py(jnp.multiply, bet_fraction, new_m), promoted(jnp.maximum, 0.0, new_r)
        )
        new_s = promoted_py(jnp.divide, wealth, promoted_py(jnp.add, jnp.sqrt(new_v), eps))
        scale = jnp.sum(new_s)
        new_updates = jax.tree.map(
            lambda start, step, p, g: promoted_py(
                jnp.subtract, promoted_py(jnp.subtract, start, promoted_py(jnp.multiply, scale, step)), p
            ).astype(g.dtype),
            x0,
            delta,
            params,
            updates,
        )
        return new_updates, MechanicState(
            base_optimizer_state=base_state,
            count=safe_increment(state.count),
            r=new_r.astype(state.r.dtype),
            m=new_m.astype(state.m.dtype),
            v=new_v.astype(state.v.dtype),
            s=new_s.astype(state.s.dtype),
            x0=x0,
        )

    return GradientTransformationExtraArgs(init, update)
