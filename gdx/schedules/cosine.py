"""Cosine schedules: cosine decay, warmup + cosine decay, SGDR restarts, one-cycle."""

from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import float_count
from gdx.core import Schedule
from gdx.schedules.joined import join_schedules
from gdx.schedules.polynomial import _polynomial, piecewise_interpolate_schedule


def _cosine_decay(init_value: Any, decay_steps: Any, alpha: Any, exponent: Any) -> Schedule:
    """`cosine_decay_schedule` without validation."""

    def schedule(count):
        # Python ints become floats (no int32 overflow), integer arrays float32: optax's promotion.
        steps = float_count(decay_steps)
        count = jnp.minimum(float_count(count), steps)
        cosine_decay = 0.5 * (1 + jnp.cos(jnp.pi * count / steps))
        decayed = (1 - alpha) * cosine_decay**exponent + alpha
        return init_value * decayed

    return schedule


def cosine_decay_schedule(
    init_value: jax.typing.ArrayLike,
    decay_steps: int,
    alpha: jax.typing.ArrayLike = 0.0,
    exponent: jax.typing.ArrayLike = 1.0,
) -> Schedule:
    """Cosine decay from `init_value` to `alpha * init_value` over `decay_steps` steps.

    With `t = min(count, decay_steps)`:

        cosine = 0.5 * (1 + cos(pi * t / decay_steps))
        value(count) = init_value * ((1 - alpha) * cosine**exponent + alpha)

    optax raises for `decay_steps <= 0` too; gdx also rejects `alpha` outside [0, 1]
    (optax then increases or goes negative) and `exponent <= 0` (a constant, or an
    infinite value at the end), and accepts a traced `decay_steps`.

    Args:
      init_value: the value at step 0; finite.
      decay_steps: length of the decay, > 0 (need not be an integer).
      alpha: the final value as a fraction of `init_value`, in [0, 1]. Default 0.0.
      exponent: power of the cosine factor, > 0. Default 1.0.

    Returns:
      A function that maps step counts to values.

    References:
      Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017.
      https://arxiv.org/abs/1608.03983
    """
    who = "cosine_decay_schedule"
    checks.finite(who, "init_value", init_value)
    checks.positive(who, "decay_steps", decay_steps)
    checks.closed_unit(who, "alpha", alpha)
    checks.positive(who, "exponent", exponent)
    return _cosine_decay(init_value, decay_steps, alpha, exponent)


def warmup_cosine_decay_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: int,
    decay_steps: int,
    end_value: jax.typing.ArrayLike = 0.0,
    exponent: jax.typing.ArrayLike = 1.0,
) -> Schedule:
    """Linear warmup from `init_value` to `peak_value`, then cosine decay to `end_value`.

    With `alpha = end_value / peak_value` (0 if `peak_value == 0`):

        value(count) = init_value + (peak_value - init_value) * count / warmup_steps   if count < warmup_steps
                       cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent)
                           (count - warmup_steps)                                      otherwise

    `decay_steps` is the length of the whole schedule, warmup included. gdx accepts a
    traced `peak_value` (optax fails on `peak_value == 0.0`).

    Args:
      init_value: the value at step 0; finite.
      peak_value: the value at the end of the warmup; finite.
      warmup_steps: length of the linear warmup, an integer >= 0.
      decay_steps: total length of warmup and decay, an integer > `warmup_steps`.
      end_value: the value from `decay_steps` on; finite. Default 0.0.
      exponent: power of the cosine factor, > 0. Default 1.0.

    Returns:
      A function that maps step counts to values.

    References:
      Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017.
      https://arxiv.org/abs/1608.03983
    """
    who = "warmup_cosine_decay_schedule"
    checks.finite(who, "init_value", init_value)
    checks.finite(who, "peak_value", peak_value)
    checks.non_negative_int(who, "warmup_steps", warmup_steps)
    checks.positive_int(who, "decay_steps", decay_steps)
    checks.finite(who, "end_value", end_value)
    checks.positive(who, "exponent", exponent)
    warmup, total = checks.concrete(warmup_steps), checks.concrete(decay_steps)
    if warmup is not None and total is not None and total <= warmup:
        checks.fail(
            who,
            "decay_steps",
            decay_steps,
            f"> warmup_steps={warmup_steps!r} (decay_steps is the whole schedule, warmup included)",
        )
    peak = checks.concrete(peak_value)
    if peak is not None:
        alpha = 0.0 if peak == 0.0 else end_value / peak_value
    else:
        peak_is_zero = peak_value == 0.0
        alpha = jnp.where(peak_is_zero, 0.0, end_value / jnp.where(peak_is_zero, 1.0, peak_value))
    schedules = [
        _polynomial(init_value, peak_value, 1, warmup_steps, 0),
        _cosine_decay(peak_value, decay_steps - warmup_steps, alpha, exponent),
    ]
    return join_schedules(schedules, [warmup_steps])


def sgdr_schedule(cosine_kwargs: Iterable[Mapping[str, Any]]) -> Schedule:
    """Stochastic gradient descent with warm restarts: a sequence of warmup + cosine decay cycles.

    Cycle `i` is `warmup_cosine_decay_schedule(**cosine_kwargs[i])`, restarted from
    its own step 0 when the previous cycle's `decay_steps` are over:

        value(count) = cycle_i(count - sum(decay_steps of cycles before i))

    Args:
      cosine_kwargs: a non-empty iterable of dicts of `warmup_cosine_decay_schedule`
        arguments (`init_value`, `peak_value`, `warmup_steps`, `decay_steps`, optionally
        `end_value`, `exponent`); each cycle lasts its `decay_steps`.

    Returns:
      A function that maps step counts to values.

    References:
      Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017.
      https://arxiv.org/abs/1608.03983
    """
    who = "sgdr_schedule"
    schedules, boundaries, step = [], [], 0
    for cycle, kwargs in enumerate(cosine_kwargs):
        if not isinstance(kwargs, Mapping):
            raise TypeError(f"{who}: cosine_kwargs[{cycle}] must be a dict of arguments, got {kwargs!r}")
        try:
            schedules.append(warmup_cosine_decay_schedule(**kwargs))
        except ValueError as error:
            raise ValueError(f"{who}: cosine_kwargs[{cycle}]: {error}") from error
        step += kwargs["decay_steps"]
        boundaries.append(step)
    if not schedules:
        raise ValueError(f"{who}: cosine_kwargs must hold at least one cycle, got none")
    return join_schedules(schedules, boundaries[:-1])


def _check_onecycle(who: str, transition_steps: Any, peak_value: Any, pct_start: Any) -> None:
    checks.positive_int(who, "transition_steps", transition_steps)
    checks.finite(who, "peak_value", peak_value)
    checks.check_real_type(who, "pct_start", pct_start)
    number = checks.concrete_number(pct_start)
    if number is not None and not 0 <= number < 1:
        checks.fail(who, "pct_start", pct_start, "in [0, 1)")


def _check_phase_boundaries(
    who: str, transition_steps: int, boundaries: tuple[int, ...], **pcts: Any
) -> None:
    """The phase boundaries `int(pct * transition_steps)` must increase strictly (they are dict keys)."""
    if any(a >= b for a, b in zip(boundaries, boundaries[1:])):
        pct_names = ", ".join(f"{name}={value!r}" for name, value in pcts.items())
        checks.fail(
            who,
            "transition_steps",
            transition_steps,
            f"long enough that the phase boundaries int(pct * transition_steps) increase strictly "
            f"(with {pct_names} they are {boundaries})",
        )


def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: jax.typing.ArrayLike,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """One-cycle policy with cosine phases: up from `peak_value / div_factor` to `peak_value`, then down.

    With `init = peak_value / div_factor` and `s = int(pct_start * transition_steps)`:

        count in [0, s):                cosine from init to peak_value
        count in [s, transition_steps): cosine from peak_value to init / final_div_factor
        count >= transition_steps:      init / final_div_factor

    where "cosine from a to b" over a phase is `b + (a - b) / 2 * (cos(pi * f) + 1)`,
    `f` the fraction of the phase done.

    Args:
      transition_steps: length of the cycle, an integer >= 1.
      peak_value: the maximum value, reached at step `s`; finite.
      pct_start: fraction of the cycle spent increasing, in [0, 1). Default 0.3.
      div_factor: `init = peak_value / div_factor`, > 0. Default 25.0.
      final_div_factor: `final = init / final_div_factor`, > 0. Default 1e4.

    Returns:
      A function that maps step counts to values.

    References:
      Smith & Topin, Super-Convergence: Very Fast Training of Neural Networks Using
      Large Learning Rates, 2018. https://arxiv.org/abs/1708.07120
    """
    who = "cosine_onecycle_schedule"
    _check_onecycle(who, transition_steps, peak_value, pct_start)
    checks.positive(who, "div_factor", div_factor)
    checks.positive(who, "final_div_factor", final_div_factor)
    boundaries = (int(pct_start * transition_steps), int(transition_steps))
    _check_phase_boundaries(who, transition_steps, boundaries, pct_start=pct_start)
    return piecewise_interpolate_schedule(
        "cosine",
        peak_value / div_factor,
        {
            boundaries[0]: div_factor,
            boundaries[1]: 1.0 / (div_factor * final_div_factor),
        },
    )


def linear_onecycle_schedule(
    transition_steps: int,
    peak_value: jax.typing.ArrayLike,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """One-cycle policy with three linear phases: up to `peak_value`, back down, then annihilation.

    With `init = peak_value / div_factor`, `s = int(pct_start * transition_steps)` and
    `e = int(pct_final * transition_steps)`:

        count in [0, s):                linear from init to peak_value
        count in [s, e):                linear from peak_value to init
        count in [e, transition_steps): linear from init to init / final_div_factor
        count >= transition_steps:      init / final_div_factor

    gdx rejects a `transition_steps` so short that two phase boundaries coincide
    (optax then silently merges them and returns a wrong curve).

    Args:
      transition_steps: length of the cycle, an integer >= 1 (>= 3 with the defaults).
      peak_value: the maximum value, reached at step `s`; finite.
      pct_start: fraction of the cycle spent increasing, in [0, 1). Default 0.3.
      pct_final: fraction of the cycle at which the decrease back to `init` ends,
        in (pct_start, 1). Default 0.85.
      div_factor: `init = peak_value / div_factor`, > 0. Default 25.0.
      final_div_factor: `final = init / final_div_factor`, > 0. Default 1e4.

    Returns:
      A function that maps step counts to values.

    References:
      Smith & Topin, Super-Convergence: Very Fast Training of Neural Networks Using
      Large Learning Rates, 2018. https://arxiv.org/abs/1708.07120
    """
    who = "linear_onecycle_schedule"
    _check_onecycle(who, transition_steps, peak_value, pct_start)
    checks.check_real_type(who, "pct_final", pct_final)
    number = checks.concrete_number(pct_final)
    if number is not None and not pct_start < number < 1:
        checks.fail(who, "pct_final", pct_final, f"in (pct_start={pct_start!r}, 1)")
    checks.positive(who, "div_factor", div_factor)
    checks.positive(who, "final_div_factor", final_div_factor)
    boundaries = (int(pct_start * transition_steps), int(pct_final * transition_steps), transition_steps)
    _check_phase_boundaries(who, transition_steps, boundaries, pct_start=pct_start, pct_final=pct_final)
    return piecewise_interpolate_schedule(
        "linear",
        peak_value / div_factor,
        {
            boundaries[0]: div_factor,
            boundaries[1]: 1.0 / div_factor,
            boundaries[2]: 1.0 / final_div_factor,
        },
    )
