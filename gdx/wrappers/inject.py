"""Hyperparameters as state: `inject_hyperparams` (scheduled or changed between steps without recompiling)."""

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol, cast, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, promoted_dtype
from gdx._common.moments import safe_increment, zero_count
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Schedule,
    with_extra_args_support,
)


class InjectHyperparamsState(NamedTuple):
    """optax's older state for injected hyperparameters (optax now returns the stateful one).

    `inject_hyperparams` returns `InjectStatefulHyperparamsState`, as optax does;
    this class is kept for code that names it.
    """

    count: jax.Array
    hyperparams: dict[str, jax.Array]
    inner_state: OptState


class InjectStatefulHyperparamsState(NamedTuple):
    """State of `inject_hyperparams`.

    Attributes:
      count: int32 number of updates so far.
      hyperparams: name -> current value (a scalar array) of every numeric or
        scheduled hyperparameter; read it for logging
        (`state.hyperparams["learning_rate"]`), or set a numeric one between steps.
      hyperparams_states: name -> state of the schedule of each scheduled hyperparameter.
      inner_state: the state of the inner transformation.
    """

    count: jax.Array
    hyperparams: dict[str, jax.Array]
    hyperparams_states: dict[str, Any]
    inner_state: OptState


@runtime_checkable
class StatefulSchedule(Protocol):
    """A schedule with state: `init()`, `update(state, **extra_args)`, `__call__(state, **extra_args)`.

    `init() -> state`, `update(state) -> next state`, `schedule(state) -> current value`;
    optax's stateful schedules fit it too.
    """

    def init(self) -> Any: ...

    def update(self, state: Any, **extra_args: Any) -> Any: ...

    def __call__(self, state: Any, **extra_args: Any) -> jax.typing.ArrayLike: ...


class WrappedScheduleState(NamedTuple):
    """State of a `WrappedSchedule`: the int32 step count fed to the schedule."""

    count: jax.Array


class WrappedSchedule:
    """A stateless schedule `count -> value` seen as a `StatefulSchedule` (state: the count)."""

    def __init__(self, schedule_fn: Schedule):
        self.schedule_fn = schedule_fn

    def init(self) -> WrappedScheduleState:
        return WrappedScheduleState(count=zero_count())

    def update(self, state: WrappedScheduleState, **extra_args: Any) -> WrappedScheduleState:
        del extra_args
        return WrappedScheduleState(count=safe_increment(state.count))

    def __call__(self, state: WrappedScheduleState, **extra_args: Any) -> jax.typing.ArrayLike:
        del extra_args
        return self.schedule_fn(state.count)


def _real_float_dtype(dtype: Any) -> Any:
    dtype = np.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        return np.dtype(jnp.finfo(dtype).dtype)
    return dtype if jnp.issubdtype(dtype, jnp.floating) else None


def _default_hyperparam_dtype(*trees: Any) -> Any:
    """float32, or a wider float dtype if a leaf of `trees` has one (float64 under x64)."""
    dtypes = [_real_float_dtype(jnp.result_type(leaf)) for tree in trees for leaf in jax.tree.leaves(tree)]
    strong = [d for d in dtypes if d is not None]
    return canonical_dtype(promoted_dtype(jnp.float32, *strong))


def _is_float(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return True
    return hasattr(value, "dtype") and jnp.issubdtype(value.dtype, jnp.floating)


def _as_hyperparam(value: Any, dtype: Any) -> Any:
    """Floats (Python or arrays, any precision) -> a `dtype` array; other values as they are."""
    return jnp.asarray(value, dtype) if _is_float(value) else value


_UNPROBEABLE = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
)


def _check_constants(
    inner_factory: Callable[..., GradientTransformation],
    others: dict[str, Any],
    numeric: dict[str, Any],
    scheduled: dict[str, Any],
) -> None:
    """Validates the constant hyperparameters once, as `inner_factory(**constants)` would.

    The inner factory is called abstractly (`jax.eval_shape`), with each scheduled
    hyperparameter as a traced float32 scalar, so its checks see the constants and
    skip the scheduled values (data, like any traced value). A factory that needs a
    scheduled value to be concrete cannot be probed; its constants are then not checked.
    """

    errors: list[Exception] = []

    def probe(scheduled_values):
        try:
            inner_factory(**others, **numeric, **scheduled_values)
        except _UNPROBEABLE:
            pass
        except (ValueError, TypeError) as error:
            errors.append(error)  # raised below, outside jax (which would rewrite its message)

    jax.eval_shape(probe, {name: jax.ShapeDtypeStruct((), jnp.float32) for name in scheduled})
    if errors:
        raise errors[0]


def inject_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: jax.typing.DTypeLike | None = None,
) -> Callable[..., GradientTransformation]:
    """Moves the numeric hyperparameters of `inner_factory` into the optimizer state.

    `inject_hyperparams(gdx.adam)(learning_rate=schedule, b1=0.9)` builds
    `gdx.adam` anew at every update with the current values::

        hyperparams[name] <- schedule_name(state) for scheduled ones, else the stored value
        updates, inner_state <- inner_factory(**hyperparams, **others).update(...)

    Numeric hyperparameters can be changed between steps without recompiling,
    e.g. `state.hyperparams["learning_rate"] = jnp.asarray(1e-4, jnp.float32)`
    (an array of the stored dtype keeps the jit cache; a Python float adds one
    compilation for its weak type, once). Setting a scheduled one has no effect.
    `state.hyperparams["learning_rate"]` is the value used by the last update
    (after `init`: the first step's), ready for logging.

    Dtypes (deliberately unlike optax): every float hyperparameter is stored
    as `hyperparam_dtype` or, if None, float32 (float64 when a params leaf is
    float64, under x64), whatever the params' dtype, and keeps that dtype from
    step to step. optax stores them in the params' highest dtype (bfloat16
    for all-bfloat16 params, so `1 - b2` rounds to 0 — optax #583, #1532),
    keeps a strongly-typed array's own dtype, and re-derives the dtype at
    every update (float32 when `params` is not passed). With float32 params
    (or a mix with float32) the numbers are optax's. The updates keep the
    dtype the inner transformation gives them (the grads' for gdx ones).

    Args:
      inner_factory: a function returning a `GradientTransformation`, e.g. `gdx.adam`.
      static_args: name(s) of callable arguments of `inner_factory` that are
        not schedules (every other callable argument is taken as a schedule
        `count -> value`, or used as a `StatefulSchedule`).
      hyperparam_dtype: dtype of the float hyperparameters; None -> float32 (see above).

    Returns:
      A function with `inner_factory`'s arguments returning a
      `GradientTransformation` with state
      `InjectStatefulHyperparamsState(count, hyperparams, hyperparams_states, inner_state)`,
      the layout of `optax.inject_hyperparams`. Booleans, `None`, strings and
      other non-numeric arguments are passed through as they are.
    """
    static_args = {static_args} if isinstance(static_args, str) else set(static_args)
    inner_signature = inspect.signature(inner_factory)
    if not static_args <= set(inner_signature.parameters):
        raise ValueError(
            f"inject_hyperparams: static_args {sorted(static_args)} must name parameters of "
            f"{getattr(inner_factory, '__name__', inner_factory)}, which has "
            f"{list(inner_signature.parameters)}"
        )
    fixed_dtype = canonical_dtype(hyperparam_dtype)

    @functools.wraps(inner_factory)
    def wrapped_transform(*args: Any, **kwargs: Any) -> GradientTransformation:
        bound = inner_signature.bind(*args, **kwargs)
        bound.apply_defaults()
        scheduled: dict[str, Any] = {}
        numeric: dict[str, Any] = {}
        others: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name in static_args or isinstance(value, bool):
                others[name] = value
            elif isinstance(value, StatefulSchedule):
                scheduled[name] = value
            elif callable(value):
                scheduled[name] = WrappedSchedule(cast(Schedule, value))
            elif isinstance(value, int | float | jax.Array | np.ndarray):
                numeric[name] = value
            else:
                others[name] = value

        _check_constants(inner_factory, others, numeric, scheduled)

        def build(hyperparams):
            # Injected values (a schedule's output, a value set in the state) are data: the
            # constants were validated once above, nothing is validated per step.
            with checks.as_data():
                return with_extra_args_support(inner_factory(**others, **hyperparams))

        def init(params):
            dtype = fixed_dtype or _default_hyperparam_dtype(params)
            hyperparams = {name: jnp.asarray(_as_hyperparam(v, dtype)) for name, v in numeric.items()}
            schedule_states = {name: schedule.init() for name, schedule in scheduled.items()}
            hyperparams.update(
                {
                    name: _as_hyperparam(schedule(schedule_states[name]), dtype)
                    for name, schedule in scheduled.items()
                }
            )
            return InjectStatefulHyperparamsState(
                count=zero_count(),
                hyperparams=hyperparams,
                hyperparams_states=schedule_states,
                inner_state=build(hyperparams).init(params),
            )

        def update(updates, state, params=None, **extra_args):
            dtype = fixed_dtype or _default_hyperparam_dtype(
                params if params is not None else [v for v in state.hyperparams.values() if _is_float(v)]
            )
            hyperparams = {name: _as_hyperparam(v, dtype) for name, v in state.hyperparams.items()}
            hyperparams.update(
                {
                    name: _as_hyperparam(schedule(state.hyperparams_states[name], **extra_args), dtype)
                    for name, schedule in scheduled.items()
                }
            )
            schedule_states = {
                name: schedule.update(state.hyperparams_states[name], **extra_args)
                for name, schedule in scheduled.items()
            }
            updates, inner_state = build(hyperparams).update(updates, state.inner_state, params, **extra_args)
            return updates, InjectStatefulHyperparamsState(
                count=safe_increment(state.count),
                hyperparams=hyperparams,
                hyperparams_states=schedule_states,
                inner_state=inner_state,
            )

        return GradientTransformationExtraArgs(init, update)

    return wrapped_transform


def inject_stateful_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: jax.typing.DTypeLike | None = None,
) -> Callable[..., GradientTransformation]:
    """The same as `inject_hyperparams` (optax's older name; both accept `StatefulSchedule` objects).

    Args and Returns: see `inject_hyperparams`.
    """
    return inject_hyperparams(inner_factory, static_args, hyperparam_dtype)
