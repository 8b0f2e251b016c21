"""Optimistic (extrapolated) gradients for min-max games: `scale_by_optimistic_gradient`.

The arithmetic mirrors optax 0.2.8 operation for operation, written to run
under strict dtype promotion. Updates keep the grads' dtype and state leaves
the dtype they were initialized with.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import cast_like, promote, promoted, tree_zeros_like
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates


class ScaleByOptimisticGradientState(NamedTuple):
    """State of `scale_by_optimistic_gradient`: whether no step was taken yet, and the last gradient."""

    is_initial_step: jax.Array
    previous_gradient: Updates


def validate_optimism(who: str, name: str, value: Any) -> None:
    """An optimism coefficient: a finite number (any sign), not a schedule."""
    if callable(value):
        raise TypeError(
            checks.message(who, name, f"must be a number, not a schedule (as in optax), got {value!r}")
        )
    checks.finite(who, name, value)


def scale_by_optimistic_gradient(
    alpha: jax.typing.ArrayLike = 1.0, beta: jax.typing.ArrayLike = 1.0
) -> GradientTransformation:
    """Rescales updates to generalised optimistic gradients: the gradient plus an extrapolation.

    Update rule (at the first step `g_prev = g`, so `u = alpha * g`)::

        u <- (alpha + beta) * g - beta * g_prev
        g_prev <- g

    `alpha = beta = 1` is the optimistic gradient step `2 g_t - g_{t-1}`.

    Args:
      alpha: coefficient of the gradient, a finite number. Default 1.
      beta: coefficient of the negative momentum `g - g_prev`, a finite number. Default 1.

    Returns:
      A `GradientTransformation` with state
      `ScaleByOptimisticGradientState(is_initial_step, previous_gradient)`, as in optax.

    References: Daskalakis et al., "Training GANs with Optimism", ICLR 2018
    (https://arxiv.org/abs/1711.00141); Mokhtari et al., "A Unified Analysis of
    Extra-gradient and Optimistic Gradient Methods for Saddle Point Problems",
    AISTATS 2020 (https://arxiv.org/abs/1901.08511).
    """
    who = "scale_by_optimistic_gradient"
    validate_optimism(who, "alpha", alpha)
    validate_optimism(who, "beta", beta)

    def init(params):
        return ScaleByOptimisticGradientState(
            is_initial_step=jnp.array(True), previous_gradient=tree_zeros_like(params)
        )

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.previous_gradient, who=who, what="state.previous_gradient")

        def optimistic(g, previous):
            g_now, previous = promote(g, previous)
            previous = jnp.where(state.is_initial_step, g_now, previous)
            extrapolated = promoted(
                jnp.subtract,
                promoted(jnp.multiply, alpha + beta, g_now),
                promoted(jnp.multiply, beta, previous),
            )
            return extrapolated.astype(g.dtype)

        new_updates = jax.tree.map(optimistic, updates, state.previous_gradient)
        return new_updates, ScaleByOptimisticGradientState(
            is_initial_step=jnp.array(False), previous_gradient=cast_like(updates, state.previous_gradient)
        )

    return GradientTransformationExtraArgs(init, update)
