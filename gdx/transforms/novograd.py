"""NovoGrad: Adam-like steps with one second moment per layer (`scale_by_novograd`).

The arithmetic mirrors optax 0.2.8 operation for operation (bit for bit in
float32), written to run under strict dtype promotion. Updates keep the
grads' dtype and state leaves the dtype they were initialized with.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, cast_like, is_none, promoted, tree_zeros_like
from gdx._common.moments import divide_by_root, safe_increment, update_moment, zero_count
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates


class ScaleByNovogradState(NamedTuple):
    """State of `scale_by_novograd`: int32 step count, first moment, one scalar second moment per leaf."""

    count: jax.Array
    mu: Updates
    nu: Updates


def _is_zero(value: Any) -> bool:
    number = checks.concrete_number(value)
    return number is not None and number == 0.0


def scale_by_novograd(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.25,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mu_dtype: jax.typing.DTypeLike | None = None,
) -> GradientTransformation:
    """Rescales updates by NovoGrad: gradients normalised by a per-leaf (layer-wise) second moment.

    Update rule (`t` counts from 1; `||g||` is the norm of a whole leaf)::

        nu <- ||g||**2                               at t = 1
              b2 * nu + (1 - b2) * ||g||**2          after
        a   = g / (sqrt(nu + eps_root) + eps) + weight_decay * params
        mu <- a                                      at t = 1
              b1 * mu + a                            after
        u  <- mu

    There is no bias correction and no `(1 - b1)` factor: the first moment is
    a sum, as in the paper.

    Args:
      b1: decay of the first moment, in [0, 1). Default 0.9.
      b2: decay of the per-leaf second moment, in [0, 1). Default 0.25.
      eps: added to the denominator outside the square root, >= 0. Default 1e-8.
      eps_root: added inside the square root, >= 0. Default 0.
      weight_decay: L2 weight decay inside the normalised step, >= 0 (a number,
        not a schedule). Default 0.
      mu_dtype: dtype of the first moment in state; `None` keeps the params'.
        Updates keep the grads' dtype either way (optax returns them in `mu_dtype`).

    Returns:
      A `GradientTransformation` with state `ScaleByNovogradState(count, mu, nu)`.
      `update` needs `params` unless `weight_decay` is 0 (optax always needs them).

    References: Ginsburg et al., "Stochastic Gradient Methods with Layer-wise
    Adaptive Moments for Training of Deep Networks", 2019
    (https://arxiv.org/abs/1905.11286).
    """
    who = "scale_by_novograd"
    checks.decay_rate(who, "b1", b1)
    checks.decay_rate(who, "b2", b2)
    checks.non_negative(who, "eps", eps)
    checks.non_negative(who, "eps_root", eps_root)
    if callable(weight_decay):
        raise TypeError(
            f"{who}: weight_decay must be a number, not a schedule (as in optax), got {weight_decay!r}"
        )
    checks.non_negative(who, "weight_decay", weight_decay)
    mu_dtype = canonical_dtype(mu_dtype)
    decay_is_zero = _is_zero(weight_decay)

    def squared_norm(g):
        return jnp.linalg.norm(g) ** 2

    def normalised_step(g, p, nu):
        step = divide_by_root(g, nu, eps, eps_root)
        if p is None:  # only when weight_decay == 0: optax adds 0 * params
            return step
        return promoted(jnp.add, step, promoted(jnp.multiply, weight_decay, p))

    def init(params):
        mu = tree_zeros_like(params, dtype=mu_dtype)
        nu = jax.tree.map(lambda p: jnp.asarray(0.0, dtype=p.dtype), params)
        return ScaleByNovogradState(count=zero_count(), mu=mu, nu=nu)

    def update(updates, state, params=None, **extra_args):
        del extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        if params is None and not decay_is_zero:
            raise ValueError(f"{who} needs params when weight_decay != 0: call update(grads, state, params)")
        leaf_params = params if params is not None else jax.tree.map(lambda _: None, updates)
        count_inc = safe_increment(state.count)
        first_step = count_inc == 1

        def first_nu():
            return jax.tree.map(lambda g, n: squared_norm(g).astype(n.dtype), updates, state.nu)

        def later_nu():
            norms = jax.tree.map(squared_norm, updates)
            return cast_like(update_moment(norms, state.nu, b2, 1), state.nu)

        nu = jax.lax.cond(first_step, first_nu, later_nu)

        def steps():
            return jax.tree.map(normalised_step, updates, leaf_params, nu, is_leaf=is_none)

        def first_mu():
            return cast_like(steps(), state.mu)

        def later_mu():
            mu = jax.tree.map(
                lambda m, a: None if m is None else promoted(jnp.add, promoted(jnp.multiply, b1, m), a),
                state.mu,
                steps(),
                is_leaf=is_none,
            )
            return cast_like(mu, state.mu)

        mu = jax.lax.cond(first_step, first_mu, later_mu)
        new_updates = jax.tree.map(lambda m, g: m.astype(g.dtype), mu, updates)
        return new_updates, ScaleByNovogradState(count=count_inc, mu=mu, nu=nu)

    return GradientTransformationExtraArgs(init, update)
