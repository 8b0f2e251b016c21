"""Hyperparameter validation: fail at construction, naming the argument.

Checks run only on concrete Python/NumPy numbers. Traced values (a
hyperparameter injected under `jit`) and schedules (callables) are accepted
as they are, because their values are not known at construction time.
Inside `as_data()` (how `inject_hyperparams` rebuilds its inner
transformation at every step) no number is concrete: injected values are
data, read eagerly exactly as they are traced under `jit`.
"""

import contextlib
import contextvars
import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

_AS_DATA: contextvars.ContextVar[bool] = contextvars.ContextVar("gdx_hyperparameters_as_data", default=False)


@contextlib.contextmanager
def as_data() -> Iterator[None]:
    """Within it, every hyperparameter counts as non-concrete (as if traced): nothing is range-checked.

    `inject_hyperparams` builds its inner transformation in it at every `init` and
    `update`, so a schedule's output or a value set in the state is never validated
    per step, and an eager step reads the values as a jitted one does.
    """
    token = _AS_DATA.set(True)
    try:
        yield
    finally:
        _AS_DATA.reset(token)


def concrete_number(value: Any) -> float | None:
    """Returns `value` as a float if it is a concrete real number, else `None` (always in `as_data()`)."""
    if _AS_DATA.get():
        return None
    return _read_number(value)


def _is_number(value: Any) -> bool:
    """Whether `value` is a real number or a scalar-or-array-like (a type check, `as_data()` or not)."""
    return _read_number(value) is not None or _is_array_like(value)


def _read_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray | np.generic) and np.ndim(value) == 0:
        if np.issubdtype(np.asarray(value).dtype, np.number):
            return float(value)
    if isinstance(value, jax.Array) and value.ndim == 0:
        try:  # a traced value under jit cannot be read: it is not concrete
            return float(value)
        except jax.errors.ConcretizationTypeError:
            return None
    return None


def _fail(who: str, name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"{who}: {name} must be {allowed}, got {value!r}")


def _check_finite(who: str, name: str, value: Any, number: float) -> None:
    if math.isnan(number) or math.isinf(number):
        _fail(who, name, value, "a finite number")


def check_real_type(who: str, name: str, value: Any) -> None:
    """Raises `TypeError` for values that can never be a real hyperparameter.

    Strings, complex numbers and containers would otherwise pass the range
    checks unread (they are not concrete numbers) and fail deep inside the
    first `update`, or silently broadcast.
    """
    bad = isinstance(value, str | bytes | complex | list | tuple | dict | set)
    if not bad and _is_array_like(value):
        dtype = value.dtype
        real = jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)
        bad = not (real or jnp.issubdtype(dtype, jnp.bool_))
    if bad:
        raise TypeError(f"{who}: {name} must be a real number, got {value!r} ({type(value).__name__})")


def _in_range(who: str, name: str, value: Any, accept: Callable[[float], bool], allowed: str) -> None:
    check_real_type(who, name, value)
    number = concrete_number(value)
    if number is None:
        return
    _check_finite(who, name, value, number)
    if not accept(number):
        _fail(who, name, value, allowed)


def positive(who: str, name: str, value: Any) -> None:
    """`value > 0` (learning rates, max norms, ...)."""
    _in_range(who, name, value, lambda x: x > 0, "> 0")


def non_negative(who: str, name: str, value: Any) -> None:
    """`value >= 0` (eps, weight decay, ...)."""
    _in_range(who, name, value, lambda x: x >= 0, ">= 0")


def decay_rate(who: str, name: str, value: Any) -> None:
    """`0 <= value < 1` (b1, b2, momentum, decay of a moving average)."""
    _in_range(who, name, value, lambda x: 0 <= x < 1, "in [0, 1)")


def closed_unit(who: str, name: str, value: Any) -> None:
    """`0 <= value <= 1` (fractions such as `alpha`, `pct_start`)."""
    _in_range(who, name, value, lambda x: 0 <= x <= 1, "in [0, 1]")


def finite(who: str, name: str, value: Any) -> None:
    """Any finite real number."""
    check_real_type(who, name, value)
    number = concrete_number(value)
    if number is not None:
        _check_finite(who, name, value, number)


def learning_rate(who: str, value: Any, name: str = "learning_rate") -> None:
    """A number `>= 0` or a schedule (a callable of the step count).

    0 is legal, as in optax and torch.optim: warmup from 0, frozen parameter
    groups, evaluation-only steps. Negative, NaN and inf values are rejected.
    """
    if callable(value):
        return
    if isinstance(value, bool) or not _is_number(value):
        raise TypeError(f"{who}: {name} must be a number >= 0 or a schedule (callable), got {value!r}")
    if _is_array_like(value) and len(value.shape) != 0:
        raise ValueError(f"{who}: {name} must be a scalar, got an array of shape {tuple(value.shape)}")
    non_negative(who, name, value)


def schedule_or_number(who: str, name: str, value: Any) -> None:
    """A number (any sign) or a schedule, as low-level `scale`-like transforms take."""
    if callable(value):
        return
    if not _is_number(value):
        raise TypeError(f"{who}: {name} must be a number or a schedule (callable), got {value!r}")
    finite(who, name, value)


def positive_int(who: str, name: str, value: Any) -> None:
    """An integer `>= 1` (step counts)."""
    _in_range(who, name, value, lambda x: x.is_integer() and x >= 1, "an integer >= 1")


def non_negative_int(who: str, name: str, value: Any) -> None:
    """An integer `>= 0`."""
    _in_range(who, name, value, lambda x: x.is_integer() and x >= 0, "an integer >= 0")


def one_of(who: str, name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    """`value in allowed`."""
    if value not in allowed:
        _fail(who, name, value, f"one of {allowed}")


def is_callable_or_none(who: str, name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{who}: {name} must be callable or None, got {value!r}")


def _is_array_like(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")
