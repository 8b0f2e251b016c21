"""COCOB-Backprop: learning-rate-free training by coin betting (`scale_by_cocob`)."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from gdx import _lr_free_math as m
from gdx import _tree, _validate
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
    _validate.positive(who, "alpha", alpha)
    _validate.positive(who, "eps", eps)

    def init(params):
        return COCOBState(
            init_particles=m.tree_copy(params),
            cumulative_gradients=_tree.tree_zeros_like(params),
            scale=jax.tree.map(lambda x: m.mul(eps, jnp.ones_like(x)).astype(x.dtype), params),
            subgradients=_tree.tree_zeros_like(params),
            reward=_tree.tree_zeros_like(params),
        )

    def update(updates, state, params=None, **extra_args):
        del extra_args
        m.require_params(who, params)
        _tree.check_same_structure(updates, state.scale, who=who, what="state.scale")
        scale = jax.tree.map(lambda big, g: m.maximum(big, jnp.abs(g)), state.scale, updates)
        subgradients = jax.tree.map(lambda total, g: m.add(total, jnp.abs(g)), state.subgradients, updates)
        reward = jax.tree.map(
            lambda r, g, x, x0: m.maximum(m.sub(r, m.mul(g, m.sub(x, x0))), 0),
            state.reward,
            updates,
            params,
            state.init_particles,
        )
        theta = jax.tree.map(m.sub, state.cumulative_gradients, updates)

        def bet(x, x0, th, big, total, r, g):
            fraction = m.div(th, m.mul(big, m.maximum(m.add(total, big), m.mul(alpha, big))))
            return m.add(-x, m.add(x0, m.mul(fraction, m.add(big, r)))).astype(g.dtype)

        new_updates = jax.tree.map(
            bet, params, state.init_particles, theta, scale, subgradients, reward, updates
        )
        return new_updates, COCOBState(
            init_particles=state.init_particles,
            cumulative_gradients=_tree.cast_like(theta, state.cumulative_gradients),
            scale=_tree.cast_like(scale, state.scale),
            subgradients=_tree.cast_like(subgradients, state.subgradients),
            reward=_tree.cast_like(reward, state.reward),
        )

    return GradientTransformationExtraArgs(init, update)
