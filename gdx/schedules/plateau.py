"""`reduce_on_plateau`: scale the updates down when the loss stops improving (as `optax.contrib`)."""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx._common.dtypes import promoted_dtype as common_dtype
from gdx._common.moments import safe_increment, zero_count
from gdx.core import GradientTransformation, GradientTransformationExtraArgs


class ReduceLROnPlateauState(NamedTuple):
    """State of `reduce_on_plateau`.

    Attributes:
      scale: the current factor on the updates (starts at 1), in the params' lowest float dtype.
      best_value: the best averaged value so far (starts at +inf), in the params' highest dtype.
      plateau_count: int32 number of averaged values without improvement.
      cooldown_count: int32 steps of cooldown left after a reduction.
      count: int32 number of values in the current average (0 .. accumulation_size).
      avg_value: the running average of the values fed since the last check.
    """

    scale: jax.Array
    best_value: jax.Array
    plateau_count: jax.Array
    cooldown_count: jax.Array
    count: jax.Array
    avg_value: jax.Array


def _extreme_dtype(params: Any, highest: bool) -> Any:
    """The lowest or highest leaf dtype of `params` in the promotion order (float32 for no leaves)."""
    dtypes = [jnp.result_type(leaf) for leaf in jax.tree.leaves(params)]
    if not dtypes:
        return jnp.asarray([]).dtype

    def pick(a, b):
        promoted_dtype = common_dtype(a, b)
        if promoted_dtype not in (a, b):
            raise ValueError(f"reduce_on_plateau: params dtypes {a} and {b} cannot be ordered by promotion")
        upper, lower = (a, b) if promoted_dtype == a else (b, a)
        return upper if highest else lower

    return functools.reduce(pick, dtypes)


def reduce_on_plateau(
    factor: float = 0.1,
    patience: jax.typing.ArrayLike = 10,
    rtol: float = 1e-4,
    atol: float = 0.0,
    cooldown: jax.typing.ArrayLike = 0,
    accumulation_size: jax.typing.ArrayLike = 1,
    min_scale: jax.typing.ArrayLike = 0.0,
) -> GradientTransformation:
    """Multiplies the updates by a scale that drops by `factor` when the loss plateaus.

    Feed the loss (or a validation metric) with `update(grads, state, params, value=loss)`.
    Every `accumulation_size` calls the average of the values fed is checked::

        improved = average < (1 - rtol) * best_value - atol
        best_value <- average if improved; plateau_count <- 0 if improved else plateau_count + 1
        if cooldown_count > 0: cooldown_count -= 1; plateau_count <- 0
        elif plateau_count == patience:
            scale <- max(scale * factor, min_scale); plateau_count <- 0; cooldown_count <- cooldown

    and every call returns `u <- scale * u`. Put it after the optimizer
    (`chain(adam(lr), reduce_on_plateau(...))`) to scale the step.

    Args:
      factor: the reduction factor, in (0, 1). Default 0.1.
      patience: averaged values without improvement before a reduction, an integer >= 1. Default 10.
      rtol: relative improvement needed, in [0, 1]. Default 1e-4.
      atol: absolute improvement needed, >= 0 (`rtol` and `atol` not both 0). Default 0.0.
      cooldown: checks skipped after a reduction, an integer >= 0. Default 0.
      accumulation_size: values averaged per check, an integer >= 1 (1 for a
        validation metric; more for noisy minibatch losses). Default 1.
      min_scale: the scale never goes below this, >= 0. Default 0.0.

    Returns:
      A `GradientTransformation` whose `update` needs `value=`, with state
      `ReduceLROnPlateauState(scale, best_value, plateau_count, cooldown_count, count, avg_value)`,
      as `optax.contrib.reduce_on_plateau`. The updates keep the grads' dtype (optax
      returns float32 updates for bfloat16 grads when all params are float32).

    References:
      PyTorch, `torch.optim.lr_scheduler.ReduceLROnPlateau`.
      https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.ReduceLROnPlateau.html
    """
    who = "reduce_on_plateau"
    checks.check_real_type(who, "factor", factor)
    number = checks.concrete(factor)
    if number is not None and not 0.0 < number < 1.0:
        checks.fail(who, "factor", factor, "in (0, 1)")
    checks.positive_int(who, "patience", patience)
    checks.closed_unit(who, "rtol", rtol)
    checks.non_negative(who, "atol", atol)
    if checks.concrete(rtol) == 0.0 and checks.concrete(atol) == 0.0:
        checks.fail(who, "rtol", rtol, "> 0 or atol > 0 (at least one tolerance must be positive)")
    checks.non_negative_int(who, "cooldown", cooldown)
    checks.positive_int(who, "accumulation_size", accumulation_size)
    checks.non_negative(who, "min_scale", min_scale)

    def init(params):
        lowest, highest = _extreme_dtype(params, highest=False), _extreme_dtype(params, highest=True)
        return ReduceLROnPlateauState(
            scale=jnp.asarray(1.0, lowest),
            best_value=jnp.asarray(float("inf"), highest),
            plateau_count=zero_count(),
            cooldown_count=zero_count(),
            count=zero_count(),
            avg_value=jnp.asarray(0.0, highest),
        )

    def check_plateau(state):
        threshold = promoted(jnp.subtract, promoted(jnp.multiply, 1 - rtol, state.best_value), atol)
        improved = promoted(jnp.less, state.avg_value, threshold)
        best_value = jnp.where(improved, state.avg_value.astype(state.best_value.dtype), state.best_value)
        plateau_count = jnp.where(improved, 0, safe_increment(state.plateau_count))

        def in_cooldown():
            return zero_count(), state.scale, state.cooldown_count - 1

        def not_in_cooldown():
            reduce = plateau_count == patience
            reduced = promoted(jnp.multiply, state.scale, factor).astype(state.scale.dtype)
            scale = promoted(jnp.maximum, jnp.where(reduce, reduced, state.scale), min_scale)
            cooldown_count = jnp.where(reduce, cooldown, 0).astype(jnp.int32)
            return jnp.where(reduce, 0, plateau_count), scale.astype(state.scale.dtype), cooldown_count

        plateau_count, scale, cooldown_count = jax.lax.cond(
            state.cooldown_count > 0, in_cooldown, not_in_cooldown
        )
        return ReduceLROnPlateauState(
            scale=scale,
            best_value=best_value,
            plateau_count=plateau_count,
            cooldown_count=cooldown_count,
            count=zero_count(),
            avg_value=jnp.zeros_like(state.avg_value),
        )

    def update(updates, state, params=None, *, value, **extra_args):
        del params, extra_args
        average_dtype = state.avg_value.dtype
        count = safe_increment(state.count)
        total = state.count.astype(average_dtype) * state.avg_value + jnp.asarray(value).astype(average_dtype)
        state = state._replace(
            avg_value=(total / count.astype(average_dtype)).astype(average_dtype), count=count
        )
        state = jax.lax.cond(count == accumulation_size, check_plateau, lambda s: s, state)
        updates = jax.tree.map(lambda g: promoted(jnp.multiply, state.scale, g).astype(g.dtype), updates)
        return updates, state

    return GradientTransformationExtraArgs(init, update)
