"""Decoupled weight decay: add a multiple of the params to the updates."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx._common.moments import safe_increment, zero_count
from gdx.core import (
    EmptyState,
    GradientTransformation,
    GradientTransformationExtraArgs,
    MaskOrFn,
    ScalarOrSchedule,
    record_structure,
)
from gdx.wrappers.masked import masked

AddDecayedWeightsState = EmptyState


class WeightDecaySchedule(NamedTuple):
    """State of `add_decayed_weights` with a scheduled decay: the int32 step count."""

    count: jax.Array


def _add_decayed(g: jax.Array | None, p: jax.Array, rate: Any) -> jax.Array | None:
    if g is None:
        return None
    return promoted(jnp.add, g, promoted(jnp.multiply, rate, p)).astype(g.dtype)


def add_decayed_weights(
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    """Adds the params scaled by `weight_decay` to the updates: `u <- u + weight_decay * p`.

    Decoupled weight decay (AdamW's, applied to the preconditioned update
    before the learning rate). A constant `weight_decay == 0` is skipped.

    Args:
      weight_decay: decay rate >= 0 (default 0.0), or a schedule
        `count -> rate`, in which case the state keeps a step counter.
      mask: `None` (decay every leaf), or a pytree of bools with the structure
        of the params (or a prefix), or a callable `params -> such a pytree`;
        True leaves are decayed. With a mask the result is
        `masked(add_decayed_weights(weight_decay), mask)`, as in optax.

    Returns:
      A `GradientTransformation` with state `EmptyState()` (`AddDecayedWeightsState`),
      or `WeightDecaySchedule(count)` for a scheduled rate; wrapped in
      `MaskedState` when `mask` is given. `update` needs `params`.
    """
    checks.non_negative_or_schedule("add_decayed_weights", "weight_decay", weight_decay)
    is_schedule = callable(weight_decay)

    def init(params):
        del params
        return WeightDecaySchedule(count=zero_count()) if is_schedule else EmptyState()

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError("add_decayed_weights needs params: call update(grads, state, params)")
        new_state = WeightDecaySchedule(count=safe_increment(state.count)) if is_schedule else state
        if isinstance(weight_decay, (int, float)) and weight_decay == 0.0:  # as optax: skip a zero decay
            return updates, new_state
        rate = weight_decay(state.count) if callable(weight_decay) else weight_decay
        updates = jax.tree.map(
            lambda g, p: _add_decayed(g, p, rate), updates, params, is_leaf=lambda x: x is None
        )
        return updates, new_state

    record_structure(update, "elementwise")

    transform = GradientTransformationExtraArgs(init, update)
    if mask is not None:
        return masked(transform, mask)
    return transform
