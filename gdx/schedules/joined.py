"""Joining schedules, and the linear-warmup schedules built by joining."""

import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx.core import Schedule
from gdx.schedules.polynomial import _exponential_decay, _polynomial


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Runs `schedules[0]` up to `boundaries[0]`, then `schedules[1]`, and so on.

    Each schedule counts from 0 at its own start:

        value(count) = schedules[i](count - boundaries[i - 1])
                       for boundaries[i - 1] <= count < boundaries[i]   (boundaries[-1] = 0)

    `boundaries` holds one step per switch, `len(schedules) - 1` of them. One
    more, a trailing boundary at the end of the last schedule (maxtext and
    levanter pass `boundaries=[warmup_steps, total_steps]` with two schedules),
    is accepted as optax accepts it: it is ignored, the values are optax's at
    every step, and a `UserWarning` says so once, when the schedule is built.
    Any other length raises `ValueError`: with fewer boundaries optax silently
    never runs the last schedules, with two or more extra ones some schedules
    are missing, and with no schedule optax fails when called.

    Args:
      schedules: a non-empty sequence of schedules (callables of the step count).
      boundaries: the steps at which to switch to the next schedule, integers >= 0 in
        non-decreasing order, one fewer than `schedules` (or one per schedule, the
        last one ignored, as in optax).

    Returns:
      A function that maps step counts to values.
    """
    who = "join_schedules"
    schedules = tuple(schedules)
    boundaries = tuple(boundaries)
    if not schedules:
        raise ValueError(f"{who}: schedules must hold at least one schedule, got an empty sequence")
    for index, member in enumerate(schedules):
        if not callable(member):
            raise TypeError(f"{who}: schedules[{index}] must be a schedule (callable), got {member!r}")
    if len(boundaries) == len(schedules):
        # optax zips schedules[1:] with boundaries: the last boundary pairs with nothing.
        warnings.warn(
            f"{who}: got {len(boundaries)} boundaries for {len(schedules)} schedules; the last "
            f"boundary ({boundaries[-1]!r}) ends the last schedule and is ignored, as in optax. "
            f"Pass boundaries={list(boundaries[:-1])!r} to silence this warning.",
            UserWarning,
            stacklevel=2,
        )
        boundaries = boundaries[:-1]
    if len(boundaries) != len(schedules) - 1:
        checks.fail(
            who,
            "boundaries",
            boundaries,
            f"a sequence of len(schedules) - 1 = {len(schedules) - 1} steps (or one per schedule, "
            "the last one ignored, as in optax)",
        )
    previous = None
    for index, boundary in enumerate(boundaries):
        checks.non_negative_int(who, f"boundaries[{index}]", boundary)
        number = checks.concrete_number(boundary)
        if number is not None and previous is not None and number < previous:
            checks.fail(who, "boundaries", boundaries, "in non-decreasing order")
        previous = number if number is not None else previous

    def schedule(step: Any) -> Any:
        output = schedules[0](step)
        for boundary, later_schedule in zip(boundaries, schedules[1:]):
            output = jnp.where(step < boundary, output, later_schedule(step - boundary))
        return output

    return schedule


def warmup_constant_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: int,
) -> Schedule:
    """Linear warmup from `init_value` to `peak_value`, then constant `peak_value`.

        value(count) = init_value + (peak_value - init_value) * min(count, warmup_steps) / warmup_steps

    Differs from optax on purpose: with `warmup_steps=0` gdx returns `peak_value`
    (no warmup); optax returns `init_value` forever.

    Args:
      init_value: the value at step 0; finite.
      peak_value: the value from `warmup_steps` on; finite.
      warmup_steps: length of the linear warmup, an integer >= 0.

    Returns:
      A function that maps step counts to values.
    """
    who = "warmup_constant_schedule"
    checks.finite(who, "init_value", init_value)
    checks.finite(who, "peak_value", peak_value)
    checks.non_negative_int(who, "warmup_steps", warmup_steps)
    if checks.concrete(warmup_steps) == 0:
        return lambda count: peak_value
    return _polynomial(init_value, peak_value, 1, warmup_steps, 0)


def warmup_exponential_decay_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: jax.typing.ArrayLike,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: jax.typing.ArrayLike | None = None,
) -> Schedule:
    """Linear warmup from `init_value` to `peak_value`, then `exponential_decay` from `peak_value`.

        value(count) = linear(init_value -> peak_value over warmup_steps)(count)   if count < warmup_steps
                       exponential_decay(peak_value, ...)(count - warmup_steps)     otherwise

    See `exponential_decay` for the decay (and for how its staircase differs from optax's).

    Args:
      init_value: the value at step 0; finite.
      peak_value: the value at the end of the warmup; finite.
      warmup_steps: length of the linear warmup, an integer >= 0.
      transition_steps: steps per factor of `decay_rate`, an integer >= 1.
      decay_rate: the factor per `transition_steps` steps, > 0.
      transition_begin: steps after the warmup to hold `peak_value` before decaying,
        an integer >= 0. Default 0.
      staircase: decay in discrete steps. Default False.
      end_value: optional bound where the decay stops (lower if `decay_rate < 1`, else
        upper); finite. Default None.

    Returns:
      A function that maps step counts to values.
    """
    who = "warmup_exponential_decay_schedule"
    checks.finite(who, "init_value", init_value)
    checks.finite(who, "peak_value", peak_value)
    checks.non_negative_int(who, "warmup_steps", warmup_steps)
    checks.positive_int(who, "transition_steps", transition_steps)
    checks.positive(who, "decay_rate", decay_rate)
    checks.non_negative_int(who, "transition_begin", transition_begin)
    if end_value is not None:
        checks.finite(who, "end_value", end_value)
    schedules = [
        _polynomial(init_value, peak_value, 1, warmup_steps, 0),
        _exponential_decay(peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value),
    ]
    return join_schedules(schedules, [warmup_steps])
