"""Hyperparameter validation and structure checks: fail at construction, naming the argument.

Each argument is validated once, by the building block that uses it. A named
optimizer builds its chain inside `called_as(...)`, so the error still names
the optimizer the user called and its own argument name
("muon: adam_b1 must be in [0, 1), got 1.5"), not the transformation's.

Checks run only on concrete Python/NumPy numbers. Traced values (a
hyperparameter injected under `jit`) and schedules (callables) are accepted
as they are, because their values are not known at construction time.
Inside `as_data()` (how `inject_hyperparams` rebuilds its inner
transformation at every step) no number is concrete: injected values are
data, read eagerly exactly as they are traced under `jit`.
"""

import contextlib
import contextvars
import functools
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from gdx._common.dtypes import is_none

_F = TypeVar("_F", bound=Callable[..., Any])

_AS_DATA: contextvars.ContextVar[bool] = contextvars.ContextVar("gdx_hyperparameters_as_data", default=False)


class _Caller(NamedTuple):
    """The named optimizer being built, how its building blocks' argument names map to its own,
    and the checks already run: `(check, caller argument, id(value))`."""

    who: str
    renames: Mapping[str, str]
    done: set[tuple[str, str, int]]


_CALLER: contextvars.ContextVar[_Caller | None] = contextvars.ContextVar(
    "gdx_validation_caller", default=None
)
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("gdx_validation_depth", default=0)

# Called as `_ON_CHECK(check, who, name, value)` (the caller's names) each time a validator runs
# (not when it is called by another validator): `tests/test_validation_once.py` counts with it.
_ON_CHECK: Callable[[str, str, str, Any], None] | None = None


# A check that passes also passes these weaker ones on the same value: `sgd` checks its
# `momentum` in [0, 1) and hands it to `trace`, whose own check of it, [0, 1], is then skipped.
_IMPLIES: Mapping[str, tuple[str, ...]] = {
    "decay_rate": ("closed_unit", "non_negative"),
    "closed_unit": ("non_negative",),
    "positive": ("non_negative",),
}


def _validator(name_at: int) -> Callable[[_F], _F]:
    """Makes a validator `fn(who, ..., name at position name_at, ...)` run once per caller argument.

    Inside `called_as`, a second call with the same check (or one it implies,
    `_IMPLIES`), caller argument and value (the same object) returns at once:
    one recipe argument handed to two building blocks is checked once.
    """

    def decorate(fn: _F) -> _F:
        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            depth = _DEPTH.get()
            if depth == 0:
                who = args[0] if args else kwargs["who"]
                name = args[name_at] if len(args) > name_at else kwargs.get("name", "learning_rate")
                value_at = 2 if name_at == 1 else 1
                value = args[value_at] if len(args) > value_at else kwargs.get("value")
                caller = _CALLER.get()
                shown_who, shown_name = caller_names(who, name)
                if caller is not None:
                    key = (fn.__name__, shown_name, id(value))
                    if key in caller.done:
                        return None
                    caller.done.add(key)
                    implied = _IMPLIES.get(fn.__name__, ())
                    caller.done.update((weaker, shown_name, id(value)) for weaker in implied)
                if _ON_CHECK is not None:
                    _ON_CHECK(fn.__name__, shown_who, shown_name, value)
            token = _DEPTH.set(depth + 1)
            try:
                return fn(*args, **kwargs)
            finally:
                _DEPTH.reset(token)

        return checked  # type: ignore[return-value]

    return decorate


@contextlib.contextmanager
def called_as(who: str, **renames: str) -> Iterator[None]:
    """Within it, validation errors name `who` and `who`'s argument names.

    A named optimizer (a recipe) builds its chain in it, and validates only the
    arguments no building block of the chain receives::

        with checks.called_as("muon", b1="adam_b1", b2="adam_b2"):
            return chain(scale_by_adam(b1=adam_b1, b2=adam_b2), ...)

    makes `scale_by_adam`'s check of `b1` raise "muon: adam_b1 must be in
    [0, 1), got 1.5". Nested (a recipe built from another recipe), the
    outermost caller is named, and the renames compose from the inside out.
    Within it, the same check of the same value of the same caller argument
    runs once (one argument handed to two building blocks is checked by the first).

    Args:
      who: the name of the function the user called.
      **renames: `building_block_argument="caller_argument"`; arguments not
        listed keep their name.
    """
    outer = _CALLER.get()
    if outer is None:
        caller = _Caller(who, dict(renames), set())
    else:
        inner = {name: outer.renames.get(mine, mine) for name, mine in renames.items()}
        caller = _Caller(outer.who, {**outer.renames, **inner}, outer.done)
    token = _CALLER.set(caller)
    try:
        yield
    finally:
        _CALLER.reset(token)


def in_named_optimizer() -> bool:
    """Whether a named optimizer is being built (inside `called_as`)."""
    return _CALLER.get() is not None


def caller_names(who: str, name: str) -> tuple[str, str]:
    """`(who, name)` as the error should say them: the caller's names inside `called_as`."""
    caller = _CALLER.get()
    if caller is None:
        return who, name
    return caller.who, caller.renames.get(name, name)


def caller(who: str) -> str:
    """The name errors raised after construction (at `init` or `update`) should say.

    A transformation reads it when it is built: inside `called_as` it is the
    recipe the user called ("dog needs params"), else `who` itself.
    """
    return caller_names(who, "")[0]


def message(who: str, name: str, text: str) -> str:
    """`"<who>: <name> <text>"` in the caller's names: the message of an error about argument `name`."""
    who, name = caller_names(who, name)
    return f"{who}: {name} {text}"


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


def fail(who: str, name: str, value: Any, allowed: str) -> None:
    """Raises `ValueError("<who>: <name> must be <allowed>, got <value>")`, in the caller's names."""
    raise ValueError(message(who, name, f"must be {allowed}, got {value!r}"))


def _check_finite(who: str, name: str, value: Any, number: float) -> None:
    if math.isnan(number) or math.isinf(number):
        fail(who, name, value, "a finite number")


@_validator(1)
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
        raise TypeError(message(who, name, f"must be a real number, got {value!r} ({type(value).__name__})"))


def _in_range(who: str, name: str, value: Any, accept: Callable[[float], bool], allowed: str) -> None:
    check_real_type(who, name, value)
    number = concrete_number(value)
    if number is None:
        return
    _check_finite(who, name, value, number)
    if not accept(number):
        fail(who, name, value, allowed)


@_validator(1)
def positive(who: str, name: str, value: Any) -> None:
    """`value > 0` (learning rates, max norms, ...)."""
    _in_range(who, name, value, lambda x: x > 0, "> 0")


@_validator(1)
def non_negative(who: str, name: str, value: Any) -> None:
    """`value >= 0` (eps, weight decay, ...)."""
    _in_range(who, name, value, lambda x: x >= 0, ">= 0")


@_validator(1)
def decay_rate(who: str, name: str, value: Any) -> None:
    """`0 <= value < 1` (b1, b2, momentum, decay of a moving average)."""
    _in_range(who, name, value, lambda x: 0 <= x < 1, "in [0, 1)")


@_validator(1)
def closed_unit(who: str, name: str, value: Any) -> None:
    """`0 <= value <= 1` (fractions such as `alpha`, `pct_start`)."""
    _in_range(who, name, value, lambda x: 0 <= x <= 1, "in [0, 1]")


@_validator(1)
def finite(who: str, name: str, value: Any) -> None:
    """Any finite real number."""
    check_real_type(who, name, value)
    number = concrete_number(value)
    if number is not None:
        _check_finite(who, name, value, number)


@_validator(2)
def learning_rate(who: str, value: Any, name: str = "learning_rate") -> None:
    """A number `>= 0` or a schedule (a callable of the step count).

    0 is legal, as in optax and torch.optim: warmup from 0, frozen parameter
    groups, evaluation-only steps. Negative, NaN and inf values are rejected.
    """
    if callable(value):
        return
    if isinstance(value, bool) or not _is_number(value):
        raise TypeError(message(who, name, f"must be a number >= 0 or a schedule (callable), got {value!r}"))
    if _is_array_like(value) and len(value.shape) != 0:
        raise ValueError(message(who, name, f"must be a scalar, got an array of shape {tuple(value.shape)}"))
    non_negative(who, name, value)


@_validator(1)
def schedule_or_number(who: str, name: str, value: Any) -> None:
    """A number (any sign) or a schedule, as low-level `scale`-like transforms take."""
    if callable(value):
        return
    if not _is_number(value):
        raise TypeError(message(who, name, f"must be a number or a schedule (callable), got {value!r}"))
    finite(who, name, value)


@_validator(1)
def positive_int(who: str, name: str, value: Any) -> None:
    """An integer `>= 1` (step counts)."""
    _in_range(who, name, value, lambda x: x.is_integer() and x >= 1, "an integer >= 1")


@_validator(1)
def non_negative_int(who: str, name: str, value: Any) -> None:
    """An integer `>= 0`."""
    _in_range(who, name, value, lambda x: x.is_integer() and x >= 0, "an integer >= 0")


@_validator(1)
def non_negative_or_schedule(who: str, name: str, value: Any) -> None:
    """A number `>= 0` or a schedule (a callable of the step count), as weight decays."""
    if callable(value):
        return
    check_real_type(who, name, value)
    schedule_or_number(who, name, value)
    non_negative(who, name, value)


@_validator(1)
def all_of(who: str, name: str, value: Any, *validators: Callable[[str, str, Any], None]) -> None:
    """Runs each validator on the one argument, in order: one check of it (each with its own message)."""
    for validator in validators:
        validator(who, name, value)


def adam_moments(who: str, b1: Any, b2: Any, eps: Any, eps_root: Any | None = None) -> None:
    """The Adam family's `b1`, `b2` in [0, 1) and `eps` (and `eps_root` unless None) >= 0."""
    decay_rate(who, "b1", b1)
    decay_rate(who, "b2", b2)
    non_negative(who, "eps", eps)
    if eps_root is not None:
        non_negative(who, "eps_root", eps_root)


@_validator(1)
def one_of(who: str, name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    """`value in allowed`."""
    if value not in allowed:
        fail(who, name, value, f"one of {allowed}")


@_validator(1)
def is_callable_or_none(who: str, name: str, value: Any) -> None:
    """`None` or a callable."""
    if value is not None and not callable(value):
        raise TypeError(message(who, name, f"must be callable or None, got {value!r}"))


def _is_array_like(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def check_same_structure(updates: Any, reference: Any, *, who: str, what: str) -> None:
    """Raises `ValueError` naming the first differing path if the two trees differ.

    Called at trace time (structures are static), so it costs nothing per step.
    `who` names the transformation, `what` the reference tree (e.g. "state.mu").
    """
    if jax.tree.structure(updates, is_leaf=is_none) == jax.tree.structure(reference, is_leaf=is_none):
        shapes_differ = _first_shape_difference(updates, reference)
        if shapes_differ is None:
            return
        path, got, expected = shapes_differ
        raise ValueError(
            f"{who}: the updates leaf at {path} has shape {got} but {what} has shape {expected}; "
            "grads must have the structure and shapes of the params the state was built from"
        )
    got_paths = _paths(updates)
    expected_paths = _paths(reference)
    first = next(
        (i for i, (a, b) in enumerate(zip(got_paths, expected_paths)) if a != b),
        min(len(got_paths), len(expected_paths)),
    )
    got_at = got_paths[first] if first < len(got_paths) else "<nothing>"
    expected_at = expected_paths[first] if first < len(expected_paths) else "<nothing>"
    raise ValueError(
        f"{who}: the updates tree differs from {what} at leaf #{first}: updates have "
        f"{got_at}, {what} has {expected_at} ({len(got_paths)} vs {len(expected_paths)} leaves); "
        "grads must have the structure of the params the state was built from"
    )


def _paths(tree: Any) -> list[str]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=is_none)
    return [jax.tree_util.keystr(path) or "<root>" for path, _ in leaves]


def _first_shape_difference(updates: Any, reference: Any) -> tuple[str, Any, Any] | None:
    got, _ = jax.tree_util.tree_flatten_with_path(updates, is_leaf=is_none)
    expected = jax.tree.leaves(reference, is_leaf=is_none)
    for (path, a), b in zip(got, expected):
        shape_a, shape_b = jnp.shape(a) if a is not None else None, jnp.shape(b) if b is not None else None
        if shape_a != shape_b:
            return jax.tree_util.keystr(path) or "<root>", shape_a, shape_b
    return None


def check_float_params(params: Any, *, who: str) -> None:
    """Raises `TypeError` if a params leaf is not floating point (or complex).

    Integer and boolean params cannot take a gradient step; catching them at
    `init` beats a silent truncation of every update to zero.
    """
    leaves, _ = jax.tree_util.tree_flatten_with_path(params)
    for path, leaf in leaves:
        dtype = jnp.result_type(leaf)
        if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.complexfloating)):
            raise TypeError(
                f"{who}: params leaf at {jax.tree_util.keystr(path) or '<root>'} has dtype {dtype}; "
                "optimizers need floating-point params (cast it, e.g. x.astype(jnp.float32), "
                "or keep it out of the optimized tree)"
            )


def require_params(who: str, params: Any) -> None:
    """Raises `ValueError` if `params` is None (for transforms that need `update(grads, state, params)`)."""
    if params is None:
        raise ValueError(f"{who} needs params: call update(grads, state, params)")


def concrete(value: Any) -> float | None:
    """`value` as a Python float if it is concrete (not traced), else `None`.

    Decisions on arguments are taken on this float, at construction: a comparison
    of even a concrete jax array inside a `jit` trace is staged and cannot be
    turned into a Python bool.
    """
    return concrete_number(value)


def boundaries_and_scales(who: str, boundaries_and_scales: Mapping[Any, Any] | None) -> dict[Any, Any]:
    """Checks `{step: scale}`: steps are integers >= 0, scales finite and >= 0.

    Returns the mapping (an empty dict for `None`).
    """
    if boundaries_and_scales is None:
        return {}
    if not isinstance(boundaries_and_scales, Mapping):
        raise TypeError(
            f"{who}: boundaries_and_scales must be a dict {{step: scale}}, got {boundaries_and_scales!r}"
        )
    for step, scale in boundaries_and_scales.items():
        number = concrete_number(step)
        if number is not None and (not number.is_integer() or number < 0):
            fail(who, "boundaries_and_scales keys", step, "integers >= 0 (step counts)")
        number = concrete_number(scale)
        if number is not None and not (number >= 0 and number != float("inf")):
            fail(who, f"boundaries_and_scales[{step!r}]", scale, "a finite scale >= 0")
    return dict(boundaries_and_scales)
