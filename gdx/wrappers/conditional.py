"""Run the inner transformation only sometimes: `conditionally_transform`, `conditionally_mask`,
`apply_if_finite`."""

import functools
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.moments import safe_increment, zero_count
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    with_extra_args_support,
)


class ConditionFn(Protocol):
    """`(step, **extra_args) -> bool scalar`: whether to run the inner transformation at `step`.

    `step` is the int32 number of previous updates; the extra arguments are
    passed only with `forward_extra_args=True`.
    """

    def __call__(self, step: jax.typing.ArrayLike, **extra_args: Any) -> jax.typing.ArrayLike: ...


class ConditionallyTransformState(NamedTuple):
    """State of `conditionally_transform`: the inner state and the int32 update count."""

    inner_state: Any
    step: jax.Array


class ConditionallyMaskState(NamedTuple):
    """State of `conditionally_mask`: the int32 update count and the inner state."""

    step: jax.Array
    inner_state: OptState


def _run_if(condition, inner, updates, inner_state, params, extra_args, *, otherwise_zero: bool):
    def run(_):
        return inner.update(updates, inner_state, params, **extra_args)

    def skip(_):
        return (jax.tree.map(jnp.zeros_like, updates) if otherwise_zero else updates), inner_state

    return jax.lax.cond(condition, run, skip, None)


def conditionally_transform(
    inner: GradientTransformation,
    should_transform_fn: ConditionFn,
    forward_extra_args: bool = False,
) -> GradientTransformation:
    """Runs `inner` where `should_transform_fn(step)` is True; elsewhere passes the updates through.

    Update rule: `u, s <- inner(u, s) if should_transform_fn(step) else (u, s)`;
    `step += 1` every call. The inner state does not change on skipped steps.
    Extra arguments are always forwarded to `inner`.

    Args:
      inner: the transformation to run conditionally.
      should_transform_fn: a `ConditionFn`, `step (int32) -> bool scalar`.
      forward_extra_args: also pass the extra arguments to `should_transform_fn`. Default False.

    Returns:
      A `GradientTransformation` with state `ConditionallyTransformState(inner_state, step)`, as optax.
    """
    inner = with_extra_args_support(inner)

    def init(params):
        return ConditionallyTransformState(inner_state=inner.init(params), step=zero_count())

    def update(updates, state, params=None, **extra_args):
        condition = should_transform_fn(state.step, **(extra_args if forward_extra_args else {}))
        updates, inner_state = _run_if(
            condition, inner, updates, state.inner_state, params, extra_args, otherwise_zero=False
        )
        return updates, ConditionallyTransformState(inner_state, safe_increment(state.step))

    return GradientTransformationExtraArgs(init, update)


def conditionally_mask(
    inner: GradientTransformation,
    should_transform_fn: ConditionFn,
    forward_extra_args: bool = False,
) -> GradientTransformation:
    """Runs `inner` at the steps where `should_transform_fn(step)` is True; elsewhere the updates are zero.

    Update rule: `u, s <- inner(u, s) if should_transform_fn(step) else (0, s)`;
    `step += 1` every call. The inner state does not change on skipped steps.

    Args:
      inner: the transformation to run conditionally.
      should_transform_fn: a `ConditionFn`, `step (int32) -> bool scalar`.
      forward_extra_args: also pass the extra arguments to `should_transform_fn`. Default False.

    Returns:
      A `GradientTransformation` with state `ConditionallyMaskState(step, inner_state)`, as optax.
    """
    inner = with_extra_args_support(inner)

    def init(params):
        return ConditionallyMaskState(step=zero_count(), inner_state=inner.init(params))

    def update(updates, state, params=None, **extra_args):
        condition = should_transform_fn(state.step, **(extra_args if forward_extra_args else {}))
        updates, inner_state = _run_if(
            condition, inner, updates, state.inner_state, params, extra_args, otherwise_zero=True
        )
        return updates, ConditionallyMaskState(step=safe_increment(state.step), inner_state=inner_state)

    return GradientTransformationExtraArgs(init, update)


class ApplyIfFiniteState(NamedTuple):
    """State of `apply_if_finite`.

    Attributes:
      notfinite_count: int32 consecutive steps with a NaN/inf update (0 after a finite one).
      last_finite: bool, whether the last step's updates were all finite.
      total_notfinite: int32 steps with a NaN/inf update since `init` (never reset).
      inner_state: the state of the inner transformation.
    """

    notfinite_count: Any
    last_finite: Any
    total_notfinite: Any
    inner_state: Any


def all_finite(tree: Any) -> jax.Array:
    """A boolean scalar: every entry of every leaf of `tree` is finite (no NaN, no inf)."""
    leaves_finite = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]
    return functools.reduce(jnp.logical_and, leaves_finite, jnp.array(True))


def apply_if_finite(inner: GradientTransformation, max_consecutive_errors: int) -> GradientTransformation:
    """Skips the steps whose updates contain a NaN or an inf (zero updates, inner state kept).

    Update rule: if every update is finite, `u, s <- inner(u, s)`; otherwise
    `u <- 0` and the inner state is left exactly as it was, so a NaN never
    enters it. After more than `max_consecutive_errors` non-finite steps in a
    row the step is taken anyway (the NaN reaches `inner`), as in optax.

    Args:
      inner: the transformation to protect.
      max_consecutive_errors: how many consecutive non-finite steps to skip, an int >= 0.

    Returns:
      A `GradientTransformation` with state
      `ApplyIfFiniteState(notfinite_count, last_finite, total_notfinite, inner_state)`, as optax.
    """
    checks.non_negative_int("apply_if_finite", "max_consecutive_errors", max_consecutive_errors)
    inner = with_extra_args_support(inner)

    def init(params):
        return ApplyIfFiniteState(
            notfinite_count=zero_count(),
            last_finite=jnp.array(True, jnp.bool_),
            total_notfinite=zero_count(),
            inner_state=inner.init(params),
        )

    def update(updates, state, params=None, **extra_args):
        finite = all_finite(updates)
        notfinite_count = jnp.where(finite, zero_count(), safe_increment(state.notfinite_count))
        accept = jnp.logical_or(finite, notfinite_count > max_consecutive_errors)
        updates, inner_state = _run_if(
            accept, inner, updates, state.inner_state, params, extra_args, otherwise_zero=True
        )
        return updates, ApplyIfFiniteState(
            notfinite_count=notfinite_count,
            last_finite=finite,
            total_notfinite=jnp.where(finite, state.total_notfinite, safe_increment(state.total_notfinite)),
            inner_state=inner_state,
        )

    return GradientTransformationExtraArgs(init, update)
