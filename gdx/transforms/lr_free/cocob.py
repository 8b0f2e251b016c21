"""COCOB-Backprop: learning-rate-free training by coin betting (`scale_by_cocob`)."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import cast_like, promoted, promoted_py, tree_copy, tree_zeros_like
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    Updates,
)


class COCOBState(NamedTuple):
    """State of `scale_by_cocob`, optax's layout: the initial params `w_1`, the sum of negative
    gradients `theta`, the largest gradient seen `L`, the sum of absolute gradients `G` and the
    reward, all per coordinate."""

    init_particles: Updates
    cumulative_gradients: Updates
    scale: Updates
    subgradients: Updates
    reward: Updates


def scale_by_cocob(
    alpha: jax.typing.ArrayLike = 100.0, eps: jax.typing.ArrayLike = 1e-8
) -> GradientTransformation:
    """Replaces the update by COCOB-Backprop's bet: a new point from coin-betting wealth.

    Update rule, per coordinate (`g` the incoming update, `x` the params, `w_1`
    the params at `init`; `L` starts at `eps`, `G`, `R`, `theta` at 0)::

        L     <- max(L, |g|)
        G     <- G + |g|
        R     <- max(R - g * (x - w_1), 0)
        theta <- theta - g
        u     <- w_1 + theta / (L * max(G + L, alpha * L)) * (L + R) - x

    The update is a whole step (it moves the params to the new point), so it is
    the last member of a chain.

    Args:
      alpha: bounds the bet fraction early on (the paper's alpha), > 0. Default 100.
      eps: initial value of `L` (keeps the first division finite), > 0. Default 1e-8.

    Returns:
      A `GradientTransformation` with state `COCOBState`; `update` needs `params`.

    Reference: Orabona & Tommasi, "Training Deep Networks without Learning Rates
    Through Coin Betting", NeurIPS 2017, Algorithm 2.
    """
    who = "scale_by_cocob"
    named = checks.caller(who)  # the recipe the user called, for errors at update
    checks.positive(who, "alpha", alpha)
    checks.positive(who, "eps", eps)

    def init(params):
        return COCOBState(
            init_particles=tree_copy(params),
            cumulative_gradients=tree_zeros_like(params),
            scale=jax.tree.map(
                lambda x: promoted_py(jnp.multiply, eps, jnp.ones_like(x)).astype(x.dtype), params
            ),
            subgradients=tree_zeros_like(params),
            reward=tree_zeros_like(params),
        )

    def update(updates, state, params=None, **extra_args):
        del extra_args
        checks.require_params(named, params)
        checks.check_same_structure(updates, state.scale, who=named, what="state.scale")
        scale = jax.tree.map(lambda big, g: promoted(jnp.maximum, big, jnp.abs(g)), state.scale, updates)
        subgradients = jax.tree.map(
            lambda total, g: promoted_py(jnp.add, total, jnp.abs(g)), state.subgradients, updates
        )
        reward = jax.tree.map(
            lambda r, g, x, x0: promoted(
                jnp.maximum,
                promoted_py(jnp.subtract, r, promoted_py(jnp.multiply, g, promoted_py(jnp.subtract, x, x0))),
                0,
            ),
            state.reward,
            updates,
            params,
            state.init_particles,
        )
        theta = jax.tree.map(
            functools.partial(promoted_py, jnp.subtract), state.cumulative_gradients, updates
        )

        def bet(x, x0, th, big, total, r, g):
            fraction = promoted_py(
                jnp.divide,
                th,
                promoted_py(
                    jnp.multiply,
                    big,
                    promoted(
                        jnp.maximum, promoted_py(jnp.add, total, big), promoted_py(jnp.multiply, alpha, big)
                    ),
                ),
            )
            return promoted_py(
                jnp.add,
                -x,
                promoted_py(jnp.add, x0, promoted_py(jnp.multiply, fraction, promoted_py(jnp.add, big, r))),
            ).astype(g.dtype)

        new_updates = jax.tree.map(
            bet, params, state.init_particles, theta, scale, subgradients, reward, updates
        )
        return new_updates, COCOBState(
            init_particles=state.init_particles,
            cumulative_gradients=cast_like(theta, state.cumulative_gradients),
            scale=cast_like(scale, state.scale),
            subgradients=cast_like(subgradients, state.subgradients),
            reward=cast_like(reward, state.reward),
        )

    return GradientTransformationExtraArgs(init, update)
