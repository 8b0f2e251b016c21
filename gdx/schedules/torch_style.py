"""Schedules from PyTorch and Hugging Face that optax lacks: step decay, cyclic, linear warmup-decay,
cosine annealing with warm restarts.

Each follows the documented formula of its PyTorch (`torch.optim.lr_scheduler`)
or Hugging Face (`transformers`) counterpart, with `count` the number of
scheduler steps taken (`value(0)` is the initial value, as after constructing
the PyTorch scheduler). Each is a small frozen dataclass, so it prints its
arguments (`StepDecaySchedule(init_value=0.1, step_size=30, decay_rate=0.1)`).
Step positions are computed in exact integer arithmetic on the int32 count.
"""

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gdx._common import checks
from gdx._common.dtypes import default_float, promoted

_INT32_MAX = int(np.iinfo(np.int32).max)


def _integer_count(count: Any) -> jax.Array:
    """The step count as an int32 array (a float count is floored)."""
    count = jnp.asarray(count)
    if not jnp.issubdtype(count.dtype, jnp.integer):
        count = jnp.floor(count)
    return count.astype(jnp.int32)


def _concrete_int(who: str, name: str, value: Any, *, minimum: int) -> int:
    number = checks.concrete(value)
    if number is None:
        raise TypeError(
            f"{who}: {name} must be a concrete integer >= {minimum} (a Python int), got {value!r}"
        )
    if not (number.is_integer() and number >= minimum):
        checks.fail(who, name, value, f"an integer >= {minimum}")
    return int(number)


def _power(base: Any, exponent: jax.Array) -> jax.Array:
    """`base**exponent` as `exp(exponent * log(base))`, `log(base)` taken in float64 when `base` is concrete.

    A float32 power rounds `base` first, an error that grows with the exponent
    (`0.97**200` off by 3e-6 relative); this keeps float32 results within a few ulp.
    """
    number = checks.concrete(base)
    log_base = math.log(number) if number is not None else jnp.log(base)
    return jnp.exp(promoted(jnp.multiply, exponent, log_base))


def _interpolate(start: Any, end: Any, fraction: jax.Array) -> jax.Array:
    # start + (end - start) * fraction, promoted as standard promotion would (array hyperparameters).
    return promoted(jnp.add, start, promoted(jnp.multiply, promoted(jnp.subtract, end, start), fraction))


@dataclasses.dataclass(frozen=True, eq=False)
class StepDecaySchedule:
    """`init_value * decay_rate ** (count // step_size)`; see `step_decay_schedule`."""

    init_value: Any
    step_size: int
    decay_rate: Any

    def __call__(self, count: Any) -> jax.Array:
        decays = (_integer_count(count) // self.step_size).astype(default_float())
        return promoted(jnp.multiply, self.init_value, _power(self.decay_rate, decays))


def step_decay_schedule(
    init_value: jax.typing.ArrayLike, step_size: int, decay_rate: jax.typing.ArrayLike
) -> StepDecaySchedule:
    """Multiplies the value by `decay_rate` every `step_size` steps (PyTorch's `StepLR`).

        value(count) = init_value * decay_rate ** floor(count / step_size)

    Args:
      init_value: the value at step 0; finite.
      step_size: steps between two decays, an integer >= 1.
      decay_rate: the factor applied at each decay, > 0 (PyTorch's `gamma`, typically 0.1).

    Returns:
      A schedule (a callable `count -> value`) with a readable `repr`.

    References:
      PyTorch, `torch.optim.lr_scheduler.StepLR`.
      https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.StepLR.html
    """
    who = "step_decay_schedule"
    checks.finite(who, "init_value", init_value)
    step_size = _concrete_int(who, "step_size", step_size, minimum=1)
    checks.positive(who, "decay_rate", decay_rate)
    return StepDecaySchedule(init_value, step_size, decay_rate)


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@dataclasses.dataclass(frozen=True, eq=False)
class CyclicSchedule:
    """Triangular cycles between `base_value` and `max_value`; see `cyclic_schedule`."""

    base_value: Any
    max_value: Any
    step_size_up: int
    step_size_down: int
    mode: str = "triangular"
    gamma: Any = 1.0

    def __call__(self, count: Any) -> jax.Array:
        count = _integer_count(count)
        cycle_length = self.step_size_up + self.step_size_down
        completed_cycles = count // cycle_length
        position = (count - completed_cycles * cycle_length).astype(default_float())
        # PyTorch: x = 1 + count / cycle_length - cycle; x / up_ratio rising, (x - 1) / (up_ratio - 1)
        # falling; the same fractions, computed from the exact integer position in the cycle.
        rising = position / self.step_size_up
        falling = (cycle_length - position) / self.step_size_down
        height = jnp.where(position <= self.step_size_up, rising, falling)
        base_height = promoted(jnp.multiply, promoted(jnp.subtract, self.max_value, self.base_value), height)
        if self.mode == "triangular2":  # halve the amplitude at each new cycle: 1 / 2**(cycle - 1)
            base_height = base_height * 0.5 ** completed_cycles.astype(base_height.dtype)
        elif self.mode == "exp_range":
            decay = _power(self.gamma, count.astype(default_float()))
            base_height = promoted(jnp.multiply, base_height, decay)
        return promoted(jnp.add, self.base_value, base_height)


def cyclic_schedule(
    base_value: jax.typing.ArrayLike,
    max_value: jax.typing.ArrayLike,
    step_size_up: int,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: jax.typing.ArrayLike = 1.0,
) -> CyclicSchedule:
    """Cyclical learning rate: from `base_value` up to `max_value` and back, repeatedly (PyTorch's CyclicLR).

    With `L = step_size_up + step_size_down`, `k = count // L` completed cycles and
    `p = count - k * L` the position in the current cycle::

        height = p / step_size_up if p <= step_size_up else (L - p) / step_size_down
        value(count) = base_value + (max_value - base_value) * height * scale

    where `scale` is 1 (`'triangular'`), `1 / 2**k` (`'triangular2'`: the amplitude
    halves each cycle) or `gamma**count` (`'exp_range'`). PyTorch's momentum
    cycling is not part of it (build a second schedule for momentum).

    Args:
      base_value: the value at the start of each cycle; finite.
      max_value: the value at the peak of each cycle (reached only with scale 1); finite.
      step_size_up: steps from `base_value` up to the peak, an integer >= 1.
      step_size_down: steps from the peak back down, an integer >= 1;
        None (default) means `step_size_up`.
      mode: `'triangular'` (default), `'triangular2'` or `'exp_range'`.
      gamma: the per-step decay of `'exp_range'`, in (0, 1]; ignored by the other modes. Default 1.0.

    Returns:
      A schedule (a callable `count -> value`) with a readable `repr`.

    References:
      Smith, Cyclical Learning Rates for Training Neural Networks, WACV 2017.
      https://arxiv.org/abs/1506.01186
    """
    who = "cyclic_schedule"
    checks.finite(who, "base_value", base_value)
    checks.finite(who, "max_value", max_value)
    step_size_up = _concrete_int(who, "step_size_up", step_size_up, minimum=1)
    if step_size_down is None:
        step_size_down = step_size_up
    step_size_down = _concrete_int(who, "step_size_down", step_size_down, minimum=1)
    checks.one_of(who, "mode", mode, _CYCLIC_MODES)
    checks.positive(who, "gamma", gamma)
    number = checks.concrete(gamma)
    if number is not None and number > 1:
        checks.fail(who, "gamma", gamma, "in (0, 1] (a per-step decay)")
    return CyclicSchedule(base_value, max_value, step_size_up, step_size_down, mode, gamma)


@dataclasses.dataclass(frozen=True, eq=False)
class WarmupLinearDecaySchedule:
    """Linear warmup, then linear decay; see `warmup_linear_decay_schedule`."""

    init_value: Any
    peak_value: Any
    warmup_steps: int
    decay_steps: int
    end_value: Any = 0.0

    def __call__(self, count: Any) -> jax.Array:
        count = _integer_count(count)
        warmup_done = jnp.minimum(count, self.warmup_steps).astype(default_float())
        warming = _interpolate(self.init_value, self.peak_value, warmup_done / max(self.warmup_steps, 1))
        # Hugging Face: peak * (total - count) / (total - warmup), here from peak to end_value.
        decay_length = self.decay_steps - self.warmup_steps
        remaining = jnp.clip(self.decay_steps - count, 0, decay_length).astype(default_float())
        decaying = _interpolate(self.end_value, self.peak_value, remaining / decay_length)
        return jnp.where(count < self.warmup_steps, warming, decaying)


def warmup_linear_decay_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: int,
    decay_steps: int,
    end_value: jax.typing.ArrayLike = 0.0,
) -> WarmupLinearDecaySchedule:
    """Linear warmup to `peak_value`, then linear decay to `end_value` (Hugging Face's linear schedule).

        if count < warmup_steps:
            value(count) = init_value + (peak_value - init_value) * count / warmup_steps
        else:
            value(count) = end_value + (peak_value - end_value)
                           * max(decay_steps - count, 0) / (decay_steps - warmup_steps)

    `decay_steps` is the length of the whole schedule, warmup included (Hugging Face's
    `num_training_steps`); with `init_value = end_value = 0` this is
    `transformers.get_linear_schedule_with_warmup`.

    Args:
      init_value: the value at step 0; finite.
      peak_value: the value at the end of the warmup; finite.
      warmup_steps: length of the warmup, an integer >= 0.
      decay_steps: total length of warmup and decay, an integer > `warmup_steps`.
      end_value: the value from `decay_steps` on; finite. Default 0.0.

    Returns:
      A schedule (a callable `count -> value`) with a readable `repr`.

    References:
      Hugging Face Transformers, `get_linear_schedule_with_warmup`.
      https://huggingface.co/docs/transformers/main_classes/optimizer_schedules
    """
    who = "warmup_linear_decay_schedule"
    checks.finite(who, "init_value", init_value)
    checks.finite(who, "peak_value", peak_value)
    warmup_steps = _concrete_int(who, "warmup_steps", warmup_steps, minimum=0)
    decay_steps = _concrete_int(who, "decay_steps", decay_steps, minimum=1)
    if decay_steps <= warmup_steps:
        checks.fail(
            who,
            "decay_steps",
            decay_steps,
            f"> warmup_steps={warmup_steps} (decay_steps is the whole schedule, warmup included)",
        )
    checks.finite(who, "end_value", end_value)
    return WarmupLinearDecaySchedule(init_value, peak_value, warmup_steps, decay_steps, end_value)


@dataclasses.dataclass(frozen=True, eq=False)
class CosineWarmRestartsSchedule:
    """Cosine annealing restarted every cycle; see `cosine_warm_restarts_schedule`."""

    init_value: Any
    t_0: int
    t_mult: int = 1
    eta_min: Any = 0.0

    def _cycles(self) -> tuple[np.ndarray, np.ndarray]:
        """First step and length of every cycle that starts within the int32 range."""
        starts, lengths, start, length = [], [], 0, self.t_0
        while start <= _INT32_MAX:
            starts.append(start)
            lengths.append(min(length, _INT32_MAX))
            start, length = start + length, length * self.t_mult
        return np.asarray(starts, np.int32), np.asarray(lengths, np.int32)

    def __call__(self, count: Any) -> jax.Array:
        count = _integer_count(count)
        if self.t_mult == 1:
            steps_in_cycle, cycle_length = count % self.t_0, jnp.asarray(self.t_0, jnp.int32)
        else:
            starts, lengths = self._cycles()
            cycle = jnp.searchsorted(jnp.asarray(starts), count, side="right") - 1
            steps_in_cycle = count - jnp.asarray(starts)[cycle]
            cycle_length = jnp.asarray(lengths)[cycle]
        float_dtype = default_float()
        fraction = steps_in_cycle.astype(float_dtype) / cycle_length.astype(float_dtype)
        cosine = (1 + jnp.cos(jnp.pi * fraction)) / 2
        return promoted(
            jnp.add,
            self.eta_min,
            promoted(jnp.multiply, promoted(jnp.subtract, self.init_value, self.eta_min), cosine),
        )


def cosine_warm_restarts_schedule(
    init_value: jax.typing.ArrayLike,
    t_0: int,
    t_mult: int = 1,
    eta_min: jax.typing.ArrayLike = 0.0,
) -> CosineWarmRestartsSchedule:
    """Cosine annealing to `eta_min`, restarted every cycle (PyTorch's `CosineAnnealingWarmRestarts`).

    Cycle `i` lasts `T_i = t_0 * t_mult**i` steps; with `T_cur` the steps since the last restart::

        value(count) = eta_min + (init_value - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    Unlike `sgdr_schedule` (a list of explicit cycles), the cycles go on forever.

    Args:
      init_value: the value at each restart; finite.
      t_0: length of the first cycle, an integer >= 1.
      t_mult: growth factor of the cycle length, an integer >= 1. Default 1 (equal cycles).
      eta_min: the value the cosine anneals to; finite. Default 0.0.

    Returns:
      A schedule (a callable `count -> value`) with a readable `repr`.

    References:
      Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017.
      https://arxiv.org/abs/1608.03983
    """
    who = "cosine_warm_restarts_schedule"
    checks.finite(who, "init_value", init_value)
    t_0 = _concrete_int(who, "t_0", t_0, minimum=1)
    t_mult = _concrete_int(who, "t_mult", t_mult, minimum=1)
    checks.finite(who, "eta_min", eta_min)
    return CosineWarmRestartsSchedule(init_value, t_0, t_mult, eta_min)
