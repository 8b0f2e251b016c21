"""Scaling by a constant, a learning rate or a schedule."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.moments import safe_increment, zero_count
from gdx.core import (
    EmptyState,
    GradientTransformation,
    GradientTransformationExtraArgs,
    ScalarOrSchedule,
    Schedule,
    identity,
    record_structure,
)

ScaleState = EmptyState


class ScaleByScheduleState(NamedTuple):
    """State of `scale_by_schedule`: the int32 step count fed to the schedule."""

    count: jax.Array


def _scale_leaf(step_size: Any, g: jax.Array) -> jax.Array:
    # Cast the factor to the update's dtype so bfloat16 updates stay bfloat16.
    return jnp.asarray(step_size, dtype=g.dtype) * g


def scale(step_size: jax.typing.ArrayLike) -> GradientTransformation:
    """Multiplies updates by a fixed scalar: `u <- step_size * u`.

    Args:
      step_size: any finite scalar (either sign; a traced value is accepted).

    Returns:
      A stateless `GradientTransformation` (`ScaleState = EmptyState`).
    """
    checks.finite("scale", "step_size", step_size)

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(lambda g: _scale_leaf(step_size, g), updates), state

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


def scale_by_schedule(step_size_fn: Schedule) -> GradientTransformation:
    """Multiplies updates by a scheduled factor: `u <- step_size_fn(count) * u; count += 1`.

    Args:
      step_size_fn: a schedule, `count (int32 array) -> scalar`.

    Returns:
      A `GradientTransformation` with state `ScaleByScheduleState(count)`.
    """
    if not callable(step_size_fn):
        raise TypeError(f"scale_by_schedule: step_size_fn must be callable, got {step_size_fn!r}")

    def init(params):
        del params
        return ScaleByScheduleState(count=zero_count())

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        step_size = step_size_fn(state.count)
        updates = jax.tree.map(lambda g: _scale_leaf(step_size, g), updates)
        return updates, ScaleByScheduleState(count=safe_increment(state.count))

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


def scale_by_learning_rate(
    learning_rate: ScalarOrSchedule | None = None, *, flip_sign: bool = True
) -> GradientTransformation:
    """Multiplies updates by `-learning_rate` (or `+learning_rate` if `flip_sign=False`).

    A schedule gives `u <- -learning_rate(count) * u` with a step counter in
    state (`ScaleByScheduleState`); a number gives a stateless `scale`.
    `learning_rate=None` is the identity, as in optax.

    Args:
      learning_rate: a number or a schedule; `None` for no scaling.
      flip_sign: scale by the negative learning rate (default True), so the
        result is a descent step to add to the params.
    """
    if learning_rate is None:
        return identity()
    if checks.in_named_optimizer():  # a named optimizer's learning rate is >= 0 (or a schedule)
        checks.learning_rate("scale_by_learning_rate", learning_rate)
    else:  # the building block takes any sign, as optax's
        checks.schedule_or_number("scale_by_learning_rate", "learning_rate", learning_rate)
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        schedule = learning_rate
        return scale_by_schedule(lambda count: sign * schedule(count))
    return scale(sign * learning_rate)
