"""ACProp: AdaBelief's centred second moment with an asynchronous update (`scale_by_acprop`).

The arithmetic mirrors `optax.contrib` 0.2.8 operation for operation, with
promotions written out so the code also runs under strict dtype promotion.
"""

from typing import Any

import jax
import jax.numpy as jnp

from gdx import _tree, _validate
from gdx._tree import cast_like, promoted
from gdx.core import GradientTransformation, GradientTransformationExtraArgs
from gdx.transforms.adam_variants import ScaleByBeliefState


def _divide_by_root(g: jax.Array, v: jax.Array, eps: Any) -> jax.Array:
    """`g / (sqrt(v) + eps)` in the grad's dtype, each operation promoted as optax's."""
    return promoted(jnp.divide, g, promoted(jnp.add, jnp.sqrt(v), eps)).astype(g.dtype)


def _validate_acprop(who: str, b1: Any, b2: Any, eps: Any, eps_root: Any) -> None:
    _validate.decay_rate(who, "b1", b1)
    _validate.decay_rate(who, "b2", b2)
    _validate.non_negative(who, "eps", eps)
    _validate.non_negative(who, "eps_root", eps_root)


def scale_by_acprop(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
) -> GradientTransformation:
    r"""Rescales updates by ACProp: the gradient over the *previous* step's centred second moment.

    Update rule (`t` counts from 1; the denominator uses only steps before `t`)::

        u  <- g / (sqrt(s / (1 - b2**(t-1))) + eps)     # s from step t-1; 1 / (1 + eps) at t = 1
        s  <- b2 * s + (1 - b2) * (g - m)**2 + eps_root  # m: the first moment *before* this step
        m  <- b1 * m + (1 - b1) * g

    As optax 0.2.8's code, the prediction error `g - m` uses the first moment
    of step `t - 1` (optax's docstring writes `m_t`); the numerator is the raw
    gradient, so `m` only feeds the second moment.

    Args:
      b1: decay of the first moment, in [0, 1). Default 0.9.
      b2: decay of the second central moment, in [0, 1). Default 0.999.
      eps: added to the denominator outside the square root, >= 0. Default 1e-16.
      eps_root: added to the second moment at every step, >= 0 (must be > 0 to
        differentiate through the update). Default 1e-16.

    Returns:
      A `GradientTransformation` with state `ScaleByBeliefState(count, mu, nu)`,
      as optax (`nu` holds `s`).

    Reference: Zhuang et al., "Momentum Centering and Asynchronous Update for
    Adaptive Gradient Methods", NeurIPS 2021 (https://arxiv.org/abs/2110.05454).
    """
    who = "scale_by_acprop"
    _validate_acprop(who, b1, b2, eps, eps_root)

    def init(params):
        return ScaleByBeliefState(
            count=_tree.zero_count(), mu=_tree.tree_zeros_like(params), nu=_tree.tree_zeros_like(params)
        )

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree.check_same_structure(updates, state.mu, who=who, what="state.mu")
        mu = _tree.update_moment(updates, state.mu, b1, 1)
        prediction_error = jax.tree.map(lambda g, m: promoted(jnp.subtract, g, m), updates, state.mu)
        nu = _tree.update_moment_per_elem_norm(prediction_error, state.nu, b2, 2)
        nu = jax.tree.map(lambda v: promoted(jnp.add, v, eps_root), nu)
        count_inc = _tree.safe_increment(state.count)
        # At the first step there is no previous second moment: the denominator is 1 (+ eps).
        initial = state.count == 0
        previous_steps = jnp.where(initial, count_inc, state.count)
        nu_hat = _tree.bias_correction(state.nu, b2, previous_steps)
        nu_hat = jax.tree.map(lambda v: jnp.where(initial, jnp.ones((), v.dtype), v), nu_hat)
        updates = jax.tree.map(lambda g, v: _divide_by_root(g, v, eps), updates, nu_hat)
        return updates, ScaleByBeliefState(
            count=count_inc, mu=cast_like(mu, state.mu), nu=cast_like(nu, state.nu)
        )

    return GradientTransformationExtraArgs(init, update)
