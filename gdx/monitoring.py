"""Measurements of the updates kept in the optimizer state: `snapshot`, `monitor`, `measure_with_ema`.

Put one of these inside a `chain` to record what the updates look like at
that point (e.g. the global norm before clipping) and read it back with
`gdx.tree_utils.tree_get(state, name)`. The updates pass through unchanged.
"""

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    Updates,
    chain,
    stateless,
    with_extra_args_support,
)
from gdx.transforms.momentum import ema


class SnapshotState(NamedTuple):
    """State of `snapshot`: `{measure_name: measurement}` of the last updates (of the params after init)."""

    measurement: dict[str, Any]


def snapshot(measure_name: str, measure: Callable[[Updates], Any]) -> GradientTransformation:
    """Records `measure(updates)` in the state and passes the updates through unchanged.

    Rule: `state.measurement[measure_name] <- measure(u); u <- u`. After `init`
    the entry holds `measure(params)`.

    Args:
      measure_name: the key of the measurement; read it with
        `gdx.tree_utils.tree_get(state, measure_name)`.
      measure: a function of the updates returning a pytree of arrays with the
        same shapes and dtypes for the params and for every update (e.g. `gdx.global_norm`).

    Returns:
      A `GradientTransformation` with state `SnapshotState(measurement)`, as `optax.snapshot`.
    """
    if not callable(measure):
        raise TypeError(f"snapshot: measure must be a function of the updates, got {measure!r}")

    def init(params):
        return SnapshotState({measure_name: measure(params)})

    def update(updates, state, params=None, **extra_args):
        del state, params, extra_args
        return updates, SnapshotState({measure_name: measure(updates)})

    return GradientTransformationExtraArgs(init, update)


class MonitorState(NamedTuple):
    """State of `monitor`: the last measurements and the states of the stateful measures.

    Attributes:
      measurements: `{name: measurement}` of the last updates.
      measure_states: the state of each measure, in the order of `measures`.
    """

    measurements: dict[str, Any]
    measure_states: tuple[Any, ...]


def monitor(
    measures: Mapping[str, GradientTransformation | Callable[[Updates], Any]],
) -> GradientTransformation:
    """Records several (possibly stateful) measurements of the updates; passes the updates through.

    Rule, for each `name, measure` in `measures`:
    `state.measurements[name], state_of_measure <- measure.update(u, state_of_measure, params)`
    for a transformation (e.g. `measure_with_ema(...)`), `measure(u)` for a function; `u <- u`.
    Extra arguments (`value=`, ...) are forwarded to the transformations.

    optax starts with an empty `measurements` dict and fills it at the first
    update, so the state changes structure (a `lax.scan` or `fori_loop` over
    steps rejects that, and `jit` compiles twice). gdx starts with zeros of the
    measurements' shapes and dtypes (found with `jax.eval_shape`); from the
    first update on the state is optax's. A measure that needs an extra
    argument (`value=`) cannot be evaluated at `init`; then, as optax,
    `measurements` starts empty.

    Args:
      measures: name -> a `GradientTransformation` whose updates are the
        measurement, or a function of the updates.

    Returns:
      A `GradientTransformation` with state `MonitorState(measurements, measure_states)`,
      as `optax.monitor`.
    """
    members: dict[str, GradientTransformation] = {}
    for name, measure in measures.items():
        if callable(measure):
            members[name] = stateless(lambda updates, _, measure=measure: measure(updates))
        elif hasattr(measure, "init") and hasattr(measure, "update"):
            members[name] = with_extra_args_support(measure)
        else:
            raise TypeError(
                f"monitor: measures[{name!r}] must be a function of the updates or a "
                f"GradientTransformation, got {measure!r}"
            )
    names = tuple(members)

    def measure_all(updates, measure_states, params, **extra_args):
        measurements, new_states = {}, []
        for name, measure_state in zip(names, measure_states):
            measurements[name], measure_state = members[name].update(
                updates, measure_state, params, **extra_args
            )
            new_states.append(measure_state)
        return measurements, tuple(new_states)

    def init(params):
        measure_states = tuple(members[name].init(params) for name in names)
        try:
            shapes, _ = jax.eval_shape(measure_all, params, measure_states, params)
        except TypeError:  # a measure needs an extra argument (value=, ...) not known at init
            return MonitorState({}, measure_states)
        measurements = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        return MonitorState(measurements, measure_states)

    def update(updates, state, params=None, **extra_args):
        measurements, measure_states = measure_all(updates, state.measure_states, params, **extra_args)
        return updates, MonitorState(measurements, measure_states)

    return GradientTransformationExtraArgs(init, update)


def _as_float(tree: Any) -> Any:
    # An average of booleans or integers is a float: the dtype `(1 - decay) * x` has in optax.
    default_float = jax.dtypes.canonicalize_dtype(jnp.float64)

    def leaf(x):
        x = jnp.asarray(x)
        return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(default_float)

    return jax.tree.map(leaf, tree)


def measure_with_ema(
    measure: Callable[[Updates], Any],
    decay: jax.typing.ArrayLike,
    debias: bool = True,
    accumulator_dtype: Any | None = None,
) -> GradientTransformation:
    """An exponential moving average of a measurement of the updates; use it inside `monitor`.

    Rule: `m <- (1 - decay) * measure(u) + decay * m; count += 1`; its "updates"
    are `m / (1 - decay**count)` if `debias` else `m` (the measurement `monitor` records).

    A boolean or integer measurement (e.g. `global_norm(u) > 1.0`: how often
    clipping fires) is averaged as a float from the start; optax keeps a
    boolean average at `init` that turns float at the first update (a
    `lax.scan` over steps rejects that). The numbers are the same.

    Args:
      measure: a function of the updates returning a pytree of arrays.
      decay: the weight of the past, in [0, 1).
      debias: divide by `1 - decay**count` (default True).
      accumulator_dtype: dtype of the average; None (default) keeps the
        measurement's (float32 for boolean and integer measurements).

    Returns:
      A `GradientTransformation` with state `(EmptyState(), EmaState(count, ema))`,
      as `optax.measure_with_ema`.
    """
    averaged = ema(decay, debias, accumulator_dtype)

    def init_on_measurement(params):
        # The average has the shape of the measurement, not of the params.
        return averaged.init(_as_float(measure(params)))

    return chain(
        stateless(lambda updates, _: _as_float(measure(updates))),
        GradientTransformationExtraArgs(init_on_measurement, averaged.update),
    )
