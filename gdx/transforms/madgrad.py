"""MADGRAD: momentumized, adaptive, dual-averaged gradient descent (`scale_by_madgrad`).

The arithmetic mirrors `optax.contrib` 0.2.8 operation for operation (and the
authors' PyTorch code, which optax follows), with promotions written out so
the code also runs under `jax.numpy_dtype_promotion('strict')`.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import promoted, tree_zeros_like
from gdx._common.moments import safe_increment, zero_count
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    Params,
    ScalarOrSchedule,
    Updates,
)


class MadgradState(NamedTuple):
    """State of `scale_by_madgrad`: int32 step count, weighted sums of squared grads and of grads, `x0`."""

    count: jax.Array
    grad_sum_sq: Updates
    s: Updates
    x0: Params


def _add(a: Any, b: Any) -> Any:
    # Two Python numbers are added in Python (double precision), as optax does.
    if type(a) in (int, float) and type(b) in (int, float):
        return a + b
    return promoted(jnp.add, a, b)


def _validate_madgrad(who: str, learning_rate: Any, momentum: Any, eps: Any) -> None:
    checks.learning_rate(who, learning_rate)
    checks.decay_rate(who, "momentum", momentum)
    checks.non_negative(who, "eps", eps)


@docs.shared_args
def scale_by_madgrad(
    learning_rate: ScalarOrSchedule,
    momentum: float = 0.9,
    eps: float = 1e-6,
) -> GradientTransformation:
    r"""Rescales updates by MADGRAD: a dual-averaged step from `x0` with a cube-root preconditioner.

    Update rule (`k` counts from 0, `lr = learning_rate` or `learning_rate(k)`)::

        lamb  = (lr + eps) * sqrt(k + 1)
        G    <- G + lamb * g**2
        s    <- s + lamb * g
        z     = x0 - s / (cbrt(G) + eps)
        x_new = (1 - momentum) * z + momentum * x
        u    <- x_new - x

    The learning rate is part of the rule (the update is already the final
    step: do not chain `scale_by_learning_rate` after it).

    Args:
      learning_rate, momentum, eps: {madgrad}

    Returns:
      A `GradientTransformation` with state `MadgradState(count, grad_sum_sq, s, x0)`.
      `update` needs `params`.

    Reference: Defazio & Jelassi, "Adaptivity without Compromise: A Momentumized,
    Adaptive, Dual Averaged Gradient Method for Stochastic Optimization", 2021
    (https://arxiv.org/abs/2101.11075).
    """
    who = "scale_by_madgrad"
    _validate_madgrad(who, learning_rate, momentum, eps)

    def init(params):
        return MadgradState(
            count=zero_count(),
            grad_sum_sq=tree_zeros_like(params),
            s=tree_zeros_like(params),
            # A copy, not the params' own buffers: a step that donates both params and
            # state would otherwise donate the same buffer twice (optax's x0 aliases them).
            x0=jax.tree.map(jnp.copy, params),
        )

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params)")
        checks.check_same_structure(updates, state.s, who=who, what="state.s")
        count = state.count
        lr = learning_rate(count) if callable(learning_rate) else learning_rate
        # optax: `lr_stable * jnp.sqrt(count + 1)`, the square root of an int32 taken in float32.
        lamb = promoted(jnp.multiply, _add(lr, eps), jnp.sqrt(safe_increment(count).astype(jnp.float32)))

        def step(g, g_sq, s, x0, x):
            g_sq = g_sq + promoted(jnp.multiply, lamb, g**2).astype(g.dtype).astype(g_sq.dtype)
            s = s + promoted(jnp.multiply, lamb, g).astype(g.dtype).astype(s.dtype)
            sigma = promoted(jnp.add, jnp.cbrt(g_sq), eps)
            z = promoted(jnp.subtract, x0, promoted(jnp.divide, s, sigma))
            x_new = promoted(
                jnp.add, promoted(jnp.multiply, 1 - momentum, z), promoted(jnp.multiply, momentum, x)
            )
            return promoted(jnp.subtract, x_new, x).astype(g.dtype), g_sq, s

        results = jax.tree.map(step, updates, state.grad_sum_sq, state.s, state.x0, params)
        treedef = jax.tree.structure(updates)
        new_updates, grad_sum_sq, s = jax.tree.transpose(treedef, jax.tree.structure((0, 0, 0)), results)
        new_state = MadgradState(count=safe_increment(count), grad_sum_sq=grad_sum_sq, s=s, x0=state.x0)
        return new_updates, new_state

    return GradientTransformationExtraArgs(init, update)
