"""Schedule-Free learning: `schedule_free` (a wrapper), `schedule_free_sgd`, `schedule_free_adamw`.

The params a Schedule-Free optimizer trains are the gradient-evaluation points
`y`; evaluate (validate, test, checkpoint for serving) at
`schedule_free_eval_params(state, params)`, the averaged iterate `x`.
The arithmetic mirrors `optax.contrib` 0.2.8 operation for operation.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, promoted, promoted_dtype, tree_cast
from gdx._common.moments import safe_increment
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    ScalarOrSchedule,
    chain,
    with_extra_args_support,
)
from gdx.optimizers.sgd import sgd
from gdx.schedules.joined import warmup_constant_schedule
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.rms import scale_by_rms
from gdx.transforms.scaling import scale_by_learning_rate


class ScheduleFreeState(NamedTuple):
    """State of `schedule_free` (fields in optax's order).

    `b1` and the scalars are stored in the params' lowest float dtype (as optax);
    `step_count` is an int32 that starts at 1; `z` is the base optimizer's iterate.
    """

    b1: jax.Array
    weight_sum: jax.Array
    step_count: jax.Array
    max_lr: jax.Array
    base_optimizer_state: OptState
    z: Params


def _find_schedule_free_state(state: Any) -> ScheduleFreeState | None:
    if isinstance(state, ScheduleFreeState):
        return state
    children = state.values() if isinstance(state, dict) else state if isinstance(state, tuple | list) else ()
    for child in children:
        found = _find_schedule_free_state(child)
        if found is not None:
            return found
    return None


def schedule_free_eval_params(state: OptState, params: Params) -> Params:
    """The params to evaluate a Schedule-Free model at: `x = (y - (1 - b1) * z) / b1`.

    Args:
      state: the optimizer state; a `ScheduleFreeState`, or (gdx only) a state
        tree containing one, e.g. `chain(clip(1.0), schedule_free_adamw())`'s
        (the first found, depth first, is used).
      params: the trained params `y`.

    Returns:
      The averaged iterate `x`, with the params' structure and dtypes.

    Raises:
      ValueError: if `state` holds no `ScheduleFreeState` (optax raises AttributeError).
    """
    found = _find_schedule_free_state(state)
    if found is None:
        raise ValueError(
            "schedule_free_eval_params: state must be (or contain) a ScheduleFreeState, "
            f"got {type(state).__name__}; pass the state of a schedule_free optimizer"
        )
    b1 = found.b1
    return jax.tree.map(
        lambda y, z: promoted(
            jnp.divide, promoted(jnp.subtract, y, promoted(jnp.multiply, 1.0 - b1, z)), b1
        ).astype(y.dtype),
        params,
        found.z,
    )


def _lowest_float_dtype(params: Any) -> Any:
    dtypes = [jnp.result_type(leaf) for leaf in jax.tree.leaves(params)]
    if not dtypes:
        return jnp.dtype(jnp.float32)
    return functools.reduce(lambda a, b: b if promoted_dtype(a, b) == a else a, dtypes)


def _validate_schedule_free(who: str, learning_rate: Any, b1: Any, weight_lr_power: Any) -> None:
    checks.learning_rate(who, learning_rate)
    checks.check_real_type(who, "b1", b1)
    checks._in_range(who, "b1", b1, lambda x: 0 < x <= 1, "in (0, 1]")
    checks.non_negative(who, "weight_lr_power", weight_lr_power)


def schedule_free(
    base_optimizer: GradientTransformation,
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    weight_lr_power: jax.typing.ArrayLike = 2.0,
    state_dtype: Any | None = None,
) -> GradientTransformation:
    r"""Makes `base_optimizer` Schedule-Free: interpolation and averaging replace momentum.

    Update rule (`t` counts from 1; `base` is the base optimizer's update, which
    includes its learning rate; the trained params are `y`)::

        lr_max <- max(lr_max, lr(t))
        w_t = lr_max ** weight_lr_power;  c_t = w_t / sum_{i<=t} w_i
        z_{t+1} = z_t + base(g(y_t))
        x_{t+1} = (1 - c_t) x_t + c_t z_{t+1}        # x_t = (y_t - (1 - b1) z_t) / b1
        y_{t+1} = b1 x_{t+1} + (1 - b1) z_{t+1}

    Turn the base optimizer's momentum off (`adam(lr, b1=0)`, `sgd(lr)`), use a
    learning rate with warmup but no decay, and evaluate at
    `schedule_free_eval_params(state, params)`.

    Args:
      base_optimizer: the transformation whose updates move `z` (no momentum).
      learning_rate: the base optimizer's learning rate (number >= 0 or schedule),
        used here only to weight the average.
      b1: interpolation between `x` and `z`, in (0, 1]. Default 0.9.
      weight_lr_power: the average weighs step `t` by `lr_max(t) ** weight_lr_power`,
        >= 0. Default 2.
      state_dtype: dtype of `z`; `None` keeps the params'.

    Returns:
      A `GradientTransformation` with state `ScheduleFreeState(b1, weight_sum,
      step_count, max_lr, base_optimizer_state, z)`, as optax. `update` needs `params`.

    Reference: Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky, "The Road
    Less Scheduled", NeurIPS 2024.
    """
    who = "schedule_free"
    _validate_schedule_free(who, learning_rate, b1, weight_lr_power)
    base_optimizer = with_extra_args_support(base_optimizer)
    state_dtype = canonical_dtype(state_dtype)

    def init(params):
        params_dtype = _lowest_float_dtype(params)
        z = tree_cast(params, state_dtype)
        z = jax.tree.map(lambda t: t.copy(), z)  # a distinct buffer, so params and state can both be donated
        return ScheduleFreeState(
            b1=jnp.asarray(b1, dtype=params_dtype),
            weight_sum=jnp.zeros([], dtype=params_dtype),
            step_count=jnp.ones([], dtype=jnp.int32),
            max_lr=jnp.zeros([], dtype=params_dtype),
            base_optimizer_state=base_optimizer.init(params),
            z=z,
        )

    def update(updates, state, params=None, **extra_args):
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params)")
        checks.check_same_structure(updates, state.z, who=who, what="state.z")
        lr = learning_rate
        if callable(learning_rate):
            lr = jnp.asarray(learning_rate(state.step_count), dtype=state.max_lr.dtype)
        max_lr = promoted(jnp.maximum, state.max_lr, lr).astype(state.max_lr.dtype)
        weight = promoted(jnp.power, max_lr, weight_lr_power).astype(max_lr.dtype)
        next_total_weight = state.weight_sum + weight
        # NaN stays NaN; 0 / 0 (all learning rates zero so far, e.g. warmup from 0) is weight 0.
        ck = jnp.where(
            jnp.logical_or(jnp.isnan(weight), jnp.isnan(next_total_weight)),
            jnp.full(weight.shape, jnp.nan, weight.dtype),
            jnp.nan_to_num(weight / next_total_weight, nan=0.0, posinf=jnp.inf),
        )
        base_updates, next_base_state = base_optimizer.update(
            updates, state.base_optimizer_state, params, **extra_args
        )
        z = jax.tree.map(lambda zi, ui: promoted(jnp.add, zi, ui).astype(zi.dtype), state.z, base_updates)
        # x is recomputed from y and z (not stored): same memory as the base optimizer.
        prev_x = jax.tree.map(
            lambda yi, zi: promoted(
                jnp.divide, promoted(jnp.subtract, yi, promoted(jnp.multiply, 1.0 - b1, zi)), b1
            ),
            params,
            state.z,
        )
        x = jax.tree.map(
            lambda xi, zi: promoted(
                jnp.add, promoted(jnp.multiply, 1.0 - ck, xi), promoted(jnp.multiply, ck, zi)
            ),
            prev_x,
            z,
        )
        new_params = jax.tree.map(
            lambda xi, zi: promoted(
                jnp.add, promoted(jnp.multiply, b1, xi), promoted(jnp.multiply, 1.0 - b1, zi)
            ),
            x,
            z,
        )
        new_updates = jax.tree.map(
            lambda npi, pi: promoted(jnp.subtract, npi, pi).astype(pi.dtype), new_params, params
        )
        return new_updates, ScheduleFreeState(
            b1=state.b1,
            weight_sum=next_total_weight,
            step_count=safe_increment(state.step_count),
            max_lr=max_lr,
            base_optimizer_state=next_base_state,
            z=z,
        )

    return GradientTransformationExtraArgs(init, update)


def _warmup(who: str, learning_rate: Any, warmup_steps: Any) -> Any:
    if warmup_steps is None:
        return learning_rate
    checks.non_negative_int(who, "warmup_steps", warmup_steps)
    return warmup_constant_schedule(init_value=0.0, peak_value=learning_rate, warmup_steps=warmup_steps)


@checks.called_as("schedule_free_sgd")
def schedule_free_sgd(
    learning_rate: ScalarOrSchedule = 1.0,
    warmup_steps: int | None = None,
    b1: jax.typing.ArrayLike = 0.9,
    weight_decay: ScalarOrSchedule | None = None,
    weight_lr_power: jax.typing.ArrayLike = 2.0,
    state_dtype: Any | None = None,
) -> GradientTransformation:
    """Schedule-Free SGD: `schedule_free(sgd(lr), lr, b1)`, optionally with warmup and weight decay.

    Update rule: as `schedule_free` with `base(g) = -lr(t) * (g + weight_decay * y)`
    (the decay is applied at the trained params `y`, as optax and the reference code).

    Args:
      learning_rate: SGD's learning rate, >= 0 (or a schedule). Default 1.0.
      warmup_steps: if given (integer >= 0), a linear warmup from 0 to `learning_rate`
        (`warmup_constant_schedule`; with 0 gdx uses `learning_rate` at once, optax
        stays at 0 forever).
      b1: interpolation, in (0, 1]. Default 0.9.
      weight_decay: `None` (default) or a decay >= 0 (multiplied by the learning rate).
      weight_lr_power: see `schedule_free`. Default 2.
      state_dtype: dtype of `z`; `None` keeps the params'.

    Returns:
      A `GradientTransformation` with a `ScheduleFreeState`, as `optax.contrib.schedule_free_sgd`.

    Reference: Defazio et al., "The Road Less Scheduled", NeurIPS 2024.
    """
    who = "schedule_free_sgd"
    _validate_schedule_free(who, learning_rate, b1, weight_lr_power)
    learning_rate = _warmup(who, learning_rate, warmup_steps)
    optimizer = sgd(learning_rate)
    if weight_decay is not None:
        optimizer = chain(add_decayed_weights(weight_decay), optimizer)
    return _checked(
        who,
        schedule_free(
            optimizer,
            learning_rate=learning_rate,
            b1=b1,
            weight_lr_power=weight_lr_power,
            state_dtype=state_dtype,
        ),
    )


@checks.called_as("schedule_free_adamw")
def schedule_free_adamw(
    learning_rate: ScalarOrSchedule = 0.0025,
    warmup_steps: int | None = None,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_lr_power: jax.typing.ArrayLike = 2.0,
    state_dtype: Any | None = None,
) -> GradientTransformation:
    """Schedule-Free AdamW: `schedule_free` over AdamW without momentum.

    Update rule: as `schedule_free` with (`t` counts from 1)::

        nu <- b2 * nu + (1 - b2) * g**2
        base(g) = -lr(t) * (g / (sqrt(nu / (1 - b2**t)) + eps) + weight_decay * y)

    (`scale_by_rms(b2, eps, eps_in_sqrt=False, bias_correction=True)`, as optax).

    Args:
      learning_rate: >= 0 or a schedule. Default 0.0025.
      warmup_steps: if given (integer >= 0), a linear warmup from 0 to `learning_rate`
        (`warmup_constant_schedule`; with 0 gdx uses `learning_rate` at once, optax
        stays at 0 forever).
      b1: interpolation, in (0, 1]. Default 0.9.
      b2: second-moment decay, in [0, 1). Default 0.999.
      eps: added outside the square root, >= 0. Default 1e-8.
      weight_decay: decoupled weight decay >= 0 (times the learning rate). Default 0.
      weight_lr_power: see `schedule_free`. Default 2.
      state_dtype: dtype of `z`; `None` keeps the params'.

    Returns:
      A `GradientTransformation` with a `ScheduleFreeState`, as `optax.contrib.schedule_free_adamw`.

    Reference: Defazio et al., "The Road Less Scheduled", NeurIPS 2024.
    """
    who = "schedule_free_adamw"
    _validate_schedule_free(who, learning_rate, b1, weight_lr_power)
    with checks.called_as(who, decay="b2"):  # scale_by_rms checks it, in [0, 1)
        second_moment = scale_by_rms(decay=b2, eps=eps, eps_in_sqrt=False, bias_correction=True)
    learning_rate = _warmup(who, learning_rate, warmup_steps)
    optimizer = chain(
        second_moment,
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(learning_rate),
    )
    return _checked(
        who,
        schedule_free(
            optimizer,
            learning_rate=learning_rate,
            b1=b1,
            weight_lr_power=weight_lr_power,
            state_dtype=state_dtype,
        ),
    )


def _checked(who: str, tx: GradientTransformation) -> GradientTransformation:
    """`tx` whose `init` rejects non-float params, naming `who`."""

    def init(params):
        checks.check_float_params(params, who=who)
        return tx.init(params)

    return GradientTransformationExtraArgs(init, tx.update)
