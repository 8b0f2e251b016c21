"""Constant, polynomial, linear, exponential and piecewise schedules.

A schedule maps a step count (an int32 array, traced under `jit`, or a Python
int) to a value. These mirror optax 0.2.8 operation for operation, so they give
optax's float32 numbers, with two fixes where optax's jitted numbers are wrong
(see `polynomial_schedule` and `exponential_decay`), and with bad arguments
rejected at construction instead of logged and replaced by a constant.
"""

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import default_float
from gdx.core import Schedule


def constant_schedule(value: jax.typing.ArrayLike) -> Schedule:
    """A schedule that always returns `value`.

    `value(count) = value`, returned as given (a Python float stays a Python float).

    Args:
      value: the value held throughout; a finite number or an array.

    Returns:
      A function that maps step counts to values.
    """
    checks.finite("constant_schedule", "value", value)
    return lambda count: value


def _polynomial(
    init_value: Any, end_value: Any, power: Any, transition_steps: Any, transition_begin: Any
) -> Schedule:
    """`polynomial_schedule` without validation; `transition_steps == 0` means a constant `init_value`."""
    steps = checks.concrete(transition_steps)
    if steps is not None and steps <= 0:
        return lambda count: init_value

    def schedule(count):
        steps_done = jnp.clip(count - transition_begin, 0, transition_steps)
        fraction_left = jnp.maximum(1 - steps_done / transition_steps, 0.0)
        # Under jit XLA divides by a constant as a multiply by its reciprocal, so at the end
        # `1 - steps_done / transition_steps` can be +-1 ulp instead of 0: a fractional power
        # of a negative number is NaN, and of a tiny positive one misses end_value.
        fraction_left = jnp.where(steps_done < transition_steps, fraction_left, 0.0)
        return (init_value - end_value) * (fraction_left**power) + end_value

    return schedule


def polynomial_schedule(
    init_value: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike,
    power: jax.typing.ArrayLike,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    """Polynomial transition from `init_value` to `end_value` over `transition_steps` steps.

    With `t = clip(count - transition_begin, 0, transition_steps)`:

        value(count) = (init_value - end_value) * (1 - t / transition_steps) ** power + end_value

    so `init_value` up to `transition_begin`, `end_value` from
    `transition_begin + transition_steps` on.

    Differs from optax on purpose: under `jit`, optax computes
    `1 - t / transition_steps` as `1 - t * (1 / transition_steps)`, which past the
    end is a tiny negative or positive number instead of 0; with a non-integer
    `power` optax then returns NaN (e.g. `power=0.5, transition_steps=10`) or a
    value off `end_value` by up to 1.5% (`transition_steps=100`) for every step past
    the end. gdx returns exactly `end_value` there, jitted or not. optax logs and
    returns a constant `init_value` for `transition_steps <= 0` and clamps a
    negative `transition_begin` to 0; gdx raises `ValueError`. gdx also rejects
    `power <= 0` (a constant, or an infinite value at the end).

    Args:
      init_value: value up to `transition_begin`; finite.
      end_value: value from `transition_begin + transition_steps` on; finite.
      power: exponent of the transition, > 0 (1 is linear, 2 quadratic, 0.5 square root).
      transition_steps: number of steps of the transition, an integer >= 1.
      transition_begin: steps to hold `init_value` before the transition starts,
        an integer >= 0. Default 0.

    Returns:
      A function that maps step counts to values.
    """
    who = "polynomial_schedule"
    checks.finite(who, "init_value", init_value)
    checks.finite(who, "end_value", end_value)
    checks.positive(who, "power", power)
    checks.positive_int(who, "transition_steps", transition_steps)
    checks.non_negative_int(who, "transition_begin", transition_begin)
    return _polynomial(init_value, end_value, power, transition_steps, transition_begin)


def linear_schedule(
    init_value: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    """Linear transition from `init_value` to `end_value` over `transition_steps` steps.

    With `t = clip(count - transition_begin, 0, transition_steps)`:

        value(count) = (init_value - end_value) * (1 - t / transition_steps) + end_value

    This is `polynomial_schedule` with `power=1`. Past the end gdx returns exactly
    `end_value` (optax, jitted, can be off by about 1e-7 relative to
    `init_value - end_value`, see `polynomial_schedule`). optax logs and returns a
    constant `init_value` for `transition_steps <= 0`; gdx raises `ValueError`.

    Args:
      init_value: value up to `transition_begin`; finite.
      end_value: value from `transition_begin + transition_steps` on; finite.
      transition_steps: number of steps of the transition, an integer >= 1.
      transition_begin: steps to hold `init_value` before the transition starts,
        an integer >= 0. Default 0.

    Returns:
      A function that maps step counts to values.
    """
    who = "linear_schedule"
    checks.finite(who, "init_value", init_value)
    checks.finite(who, "end_value", end_value)
    checks.positive_int(who, "transition_steps", transition_steps)
    checks.non_negative_int(who, "transition_begin", transition_begin)
    return _polynomial(init_value, end_value, 1, transition_steps, transition_begin)


def _exponential_decay(
    init_value: Any,
    transition_steps: Any,
    decay_rate: Any,
    transition_begin: Any,
    staircase: bool,
    end_value: Any,
) -> Schedule:
    """`exponential_decay` without validation."""

    rate = checks.concrete(decay_rate)

    def clip_to_end_value(value):
        if rate is not None:
            return jnp.maximum(value, end_value) if rate < 1.0 else jnp.minimum(value, end_value)
        return jnp.where(decay_rate < 1.0, jnp.maximum(value, end_value), jnp.minimum(value, end_value))

    def schedule(count):
        steps_done = count - transition_begin
        if staircase:
            # An exact floor division: optax's jitted floor(steps_done * (1 / transition_steps))
            # stays one stair behind at some multiples (e.g. count 41 for transition_steps=41).
            exponent = jnp.floor_divide(steps_done, transition_steps)
            if not jnp.issubdtype(exponent.dtype, jnp.inexact):
                exponent = exponent.astype(default_float())
        else:
            exponent = steps_done / transition_steps
        decayed_value = jnp.where(steps_done <= 0, init_value, init_value * jnp.power(decay_rate, exponent))
        if end_value is not None:
            decayed_value = clip_to_end_value(decayed_value)
        return decayed_value

    return schedule


def exponential_decay(
    init_value: jax.typing.ArrayLike,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: jax.typing.ArrayLike | None = None,
) -> Schedule:
    """Exponential decay of `init_value` by `decay_rate` every `transition_steps` steps.

    With `t = count - transition_begin`:

        value(count) = init_value                                          if t <= 0
                       init_value * decay_rate ** (t / transition_steps)   otherwise

    With `staircase=True`, `t / transition_steps` is an integer (floor) division:
    the classic step decay. With `end_value`, the value is clipped to
    `max(value, end_value)` when `decay_rate < 1`, to `min(value, end_value)` otherwise.

    Differs from optax on purpose: with `staircase=True` gdx drops a stair exactly at
    every multiple of `transition_steps`; optax under `jit` computes
    `floor(t * (1 / transition_steps))`, one stair late at some multiples (e.g.
    `transition_steps=41` at counts 41, 82, 164). optax logs and returns a constant
    for `transition_steps <= 0` or `decay_rate == 0`; gdx raises `ValueError`, and
    also for `decay_rate < 0` (optax gives NaN or alternating signs). gdx accepts a
    traced `decay_rate` together with `end_value` (optax fails there).

    Args:
      init_value: the initial value; finite.
      transition_steps: steps per factor of `decay_rate`, an integer >= 1.
      decay_rate: the factor per `transition_steps` steps, > 0 (< 1 decays, > 1 grows).
      transition_begin: steps to hold `init_value` before decaying, an integer >= 0. Default 0.
      staircase: decay in discrete steps (integer division) instead of continuously. Default False.
      end_value: optional bound where the decay stops: a lower bound if `decay_rate < 1`,
        an upper bound otherwise; finite. Default None (no bound).

    Returns:
      A function that maps step counts to values.
    """
    who = "exponential_decay"
    checks.finite(who, "init_value", init_value)
    checks.positive_int(who, "transition_steps", transition_steps)
    checks.positive(who, "decay_rate", decay_rate)
    checks.non_negative_int(who, "transition_begin", transition_begin)
    if end_value is not None:
        checks.finite(who, "end_value", end_value)
    return _exponential_decay(
        init_value, transition_steps, decay_rate, transition_begin, staircase, end_value
    )


def piecewise_constant_schedule(
    init_value: jax.typing.ArrayLike,
    boundaries_and_scales: Mapping[int, float] | None = None,
) -> Schedule:
    """`init_value` times the product of the scales of all boundaries already reached.

        value(count) = init_value * prod(scale for step, scale in boundaries_and_scales if count >= step)

    Args:
      init_value: the value before the first boundary; finite.
      boundaries_and_scales: `{step: scale}`, steps integers >= 0 (any order), scales
        finite and >= 0. Default None (a constant schedule). optax accepts negative or
        fractional steps; gdx rejects them.

    Returns:
      A function that maps step counts to values.
    """
    who = "piecewise_constant_schedule"
    checks.finite(who, "init_value", init_value)
    checked = checks.boundaries_and_scales(who, boundaries_and_scales)
    boundaries = sorted(checked.items())

    def schedule(count):
        value = init_value
        for threshold, scale in boundaries:
            sign = jnp.sign(threshold - count)
            if not jnp.issubdtype(sign.dtype, jnp.inexact):
                sign = sign.astype(default_float())
            indicator = jnp.maximum(0.0, sign)
            value = value * indicator + (1 - indicator) * scale * value
        return value

    return schedule


def _linear_interpolate(start: Any, end: Any, fraction: Any) -> Any:
    return (end - start) * fraction + start


def _cosine_interpolate(start: Any, end: Any, fraction: Any) -> Any:
    return end + (start - end) / 2.0 * (jnp.cos(jnp.pi * fraction) + 1)


_INTERPOLATIONS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "linear": _linear_interpolate,
    "cosine": _cosine_interpolate,
}


def piecewise_interpolate_schedule(
    interpolate_type: str,
    init_value: jax.typing.ArrayLike,
    boundaries_and_scales: Mapping[int, float] | None = None,
) -> Schedule:
    """Linear or cosine interpolation between the running products of scales at the boundaries.

    With sorted boundaries `b_0 = 0 < b_1 < ... < b_n` and values
    `v_0 = init_value`, `v_i = v_(i-1) * scale_i`, for `b_i <= count < b_(i+1)`:

        f = (count - b_i) / (b_(i+1) - b_i)
        linear: value = v_i + (v_(i+1) - v_i) * f
        cosine: value = v_(i+1) + (v_i - v_(i+1)) / 2 * (cos(pi * f) + 1)

    and `value = v_n` from `b_n` on. It interpolates between the accumulated values,
    not between the scales themselves.

    Args:
      interpolate_type: `'linear'` or `'cosine'`.
      init_value: the value at step 0; finite.
      boundaries_and_scales: `{step: scale}`, steps integers >= 0 (any order), scales
        finite and >= 0. Default None (a constant schedule).

    Returns:
      A function that maps step counts to values.
    """
    who = "piecewise_interpolate_schedule"
    checks.one_of(who, "interpolate_type", interpolate_type, tuple(_INTERPOLATIONS))
    interpolate = _INTERPOLATIONS[interpolate_type]
    checks.finite(who, "init_value", init_value)
    checked = checks.boundaries_and_scales(who, boundaries_and_scales)
    boundaries = tuple(step for step, _ in sorted(checked.items()))
    scales = tuple(scale for _, scale in sorted(checked.items()))

    def schedule(count):
        count = jnp.asarray(count)
        bounds = jnp.stack((0,) + boundaries)
        if jnp.issubdtype(count.dtype, jnp.inexact):
            bounds = bounds.astype(count.dtype)
        values = jnp.cumprod(jnp.stack((init_value,) + scales))
        interval_sizes = jnp.maximum(bounds[1:] - bounds[:-1], 1)
        in_interval = jnp.logical_and(bounds[:-1] <= count, count < bounds[1:])
        fraction = (count - bounds[:-1]) / interval_sizes
        interpolated = interpolate(values[:-1], values[1:], fraction)
        # optax takes `in_interval.dot(interpolated)`; selecting gives the same number
        # without a matmul (TF32 on some GPUs) and without 0 * inf = NaN.
        inside = jnp.sum(jnp.where(in_interval, interpolated, 0.0))
        return inside + jnp.where(bounds[-1] <= count, values[-1], 0.0)

    return schedule
