"""Gradient accumulation: `MultiSteps` (k micro-batches = one step on the big batch) and `apply_every`."""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, cast_like, dtype_of, promote, promoted, tree_zeros_like
from gdx._common.moments import safe_increment, zero_count
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    Params,
    Updates,
    with_extra_args_support,
)


class ShouldSkipUpdateFunction(Protocol):
    """`(updates, gradient_step, params) -> (should_skip, skip_state)` for `MultiSteps`.

    `should_skip` is a scalar bool array: True drops this mini-step as if it
    never happened. `skip_state` is any pytree of arrays (stored in
    `MultiStepsState.skip_state` for monitoring); it must have the same
    structure and dtypes at every call.
    """

    def __call__(
        self, updates: Updates, gradient_step: jax.typing.ArrayLike, params: Params | None
    ) -> tuple[jax.typing.ArrayLike, Any]: ...


def skip_not_finite(
    updates: Updates, gradient_step: jax.typing.ArrayLike, params: Params | None
) -> tuple[jax.Array, Any]:
    """Skips the mini-step if any update is NaN or infinite (a `ShouldSkipUpdateFunction`).

    Returns:
      `(should_skip, {"should_skip": should_skip, "num_not_finite": int32 count of NaN/inf})`.
    """
    del gradient_step, params
    not_finite_per_leaf = [jnp.sum(jnp.logical_not(jnp.isfinite(u))) for u in jax.tree.leaves(updates)]
    num_not_finite = jnp.sum(jnp.array(not_finite_per_leaf))
    should_skip = num_not_finite > 0
    return should_skip, {"should_skip": should_skip, "num_not_finite": num_not_finite}


def skip_large_updates(
    updates: Updates,
    gradient_step: jax.typing.ArrayLike,
    params: Params | None,
    max_squared_norm: jax.typing.ArrayLike,
) -> tuple[jax.Array, Any]:
    """Skips the mini-step unless `sum(u**2) < max_squared_norm` (NaN norms are skipped too).

    Use as `functools.partial(skip_large_updates, max_squared_norm=42.0)`.

    Returns:
      `(should_skip, {"should_skip": should_skip, "norm_squared": sum of squares})`.
    """
    del gradient_step, params
    per_leaf = [jnp.sum(u**2) for u in jax.tree.leaves(updates)]
    norm_squared = jnp.sum(jnp.array(promote(*per_leaf)) if per_leaf else jnp.zeros([]))
    should_skip = jnp.logical_not(norm_squared < max_squared_norm)
    return should_skip, {"should_skip": should_skip, "norm_squared": norm_squared}


def _times_flag(flag: jax.Array, x: Any) -> jax.Array:
    """`flag * x` (0 or `x`) as optax computes it: a multiplication, not a `where`.

    The value is the same for finite `x`, but the program is not: XLA fuses the
    surrounding arithmetic differently around a select, and under `jit` the
    inner optimizer's update then rounds differently from optax's.
    """
    return jnp.multiply(flag.astype(x.dtype), x)


def _never_skip(updates, gradient_step, params):
    del updates, gradient_step, params
    return jnp.array(False), ()


class MultiStepsState(NamedTuple):
    """State of `MultiSteps`.

    Attributes:
      mini_step: int32 mini-steps accumulated since the last emitted update.
      gradient_step: int32 number of emitted (inner) updates.
      inner_opt_state: the state of the wrapped optimizer.
      acc_grads: the accumulated gradients (mean or sum), `accumulator_dtype`.
      skip_state: what `should_skip_update_fn` returned last (`()` without one).
    """

    mini_step: jax.Array
    gradient_step: jax.Array
    inner_opt_state: Any
    acc_grads: Any
    skip_state: Any = ()


class MultiSteps:
    """Accumulates the gradients of k mini-steps, then takes one step of `opt` with them.

    Update rule, per mini-step (`n` = mini-steps accumulated so far)::

        acc <- acc + (g - acc) / (n + 1)      (use_grad_mean; Welford's running mean)
        acc <- acc + g                        (otherwise)
        if n + 1 == k: updates, inner_state <- opt.update(acc, inner_state, params); acc <- 0
        else:          updates <- 0           (inner_state unchanged)

    so k mini-batches of size B give the step `opt` takes on one batch of size
    k*B (for a loss that is a mean over the batch). The state holds one
    accumulator the size of the params; `opt` only sees the emitted steps.
    """

    def __init__(
        self,
        opt: GradientTransformation,
        every_k_schedule: int | Callable[[jax.typing.ArrayLike], jax.typing.ArrayLike],
        use_grad_mean: bool = True,
        should_skip_update_fn: ShouldSkipUpdateFunction | None = None,
        accumulator_dtype: jax.typing.DTypeLike = jnp.float32,
    ):
        """Wraps `opt`.

        Args:
          opt: the optimizer to take the accumulated steps.
          every_k_schedule: k, the number of mini-steps per step (an int >= 1),
            or a function `gradient_step -> k` (a growing effective batch size).
          use_grad_mean: average the accumulated gradients (default True); False sums them.
          should_skip_update_fn: optional `ShouldSkipUpdateFunction` (e.g.
            `skip_not_finite`): a skipped mini-step leaves the state as it was
            (apart from `skip_state`) and emits zeros.
          accumulator_dtype: dtype of `acc_grads`. Default float32 (bfloat16
            grads are accumulated in float32); the inner optimizer gets the
            accumulated gradients in the grads' dtype.
        """
        if not callable(every_k_schedule):
            checks.positive_int("MultiSteps", "every_k_schedule", every_k_schedule)
            k = every_k_schedule
            self._every_k_schedule = lambda step: k
        else:
            self._every_k_schedule = every_k_schedule
        self._opt = with_extra_args_support(opt)
        self._use_grad_mean = use_grad_mean
        self._accumulator_dtype = canonical_dtype(accumulator_dtype)
        self._should_skip_update_fn = should_skip_update_fn or _never_skip

    @property
    def inner_opt(self) -> GradientTransformation:
        """The wrapped optimizer."""
        return self._opt

    def _accumulate(self, grad, acc, mini_step):
        if self._use_grad_mean:
            step_to_mean = promoted(jnp.divide, promoted(jnp.subtract, grad, acc), mini_step + 1)
            return promoted(jnp.add, acc, step_to_mean)
        return promoted(jnp.add, grad, acc)

    def init(self, params: Params) -> MultiStepsState:
        """Zero counters, `opt.init(params)` and a zero accumulator."""
        gradient_step = zero_count()
        _, skip_state = self._should_skip_update_fn(tree_zeros_like(params), gradient_step, params)
        return MultiStepsState(
            mini_step=zero_count(),
            gradient_step=gradient_step,
            inner_opt_state=self._opt.init(params),
            acc_grads=tree_zeros_like(params, self._accumulator_dtype),
            skip_state=skip_state,
        )

    def update(
        self, updates: Updates, state: MultiStepsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MultiStepsState]:
        """Accumulates `updates`; every k-th mini-step returns `opt`'s update, else zeros."""
        checks.check_same_structure(updates, state.acc_grads, who="MultiSteps", what="state.acc_grads")
        k_steps = jnp.asarray(self._every_k_schedule(state.gradient_step)).astype(jnp.int32)
        should_skip, skip_state = self._should_skip_update_fn(updates, state.gradient_step, params)
        should_skip = jnp.asarray(should_skip)
        if (should_skip.dtype, should_skip.shape) != (jnp.bool_, ()):
            raise ValueError(
                "MultiSteps: should_skip_update_fn must return a scalar bool array first, got dtype "
                f"{should_skip.dtype} and shape {should_skip.shape}"
            )

        def do_update(updates, state, params):
            acc_grads = jax.tree.map(
                lambda g, acc: self._accumulate(g, acc, state.mini_step), updates, state.acc_grads
            )
            inner_updates, new_inner_state = self._opt.update(
                cast_like(acc_grads, updates), state.inner_opt_state, params, **extra_args
            )
            emit = state.mini_step == k_steps - 1
            new_state = MultiStepsState(
                mini_step=safe_increment(state.mini_step) % k_steps,
                gradient_step=jnp.where(emit, safe_increment(state.gradient_step), state.gradient_step),
                inner_opt_state=jax.tree.map(
                    # Python numbers and bools in a state (inject_hyperparams stores a callable
                    # mask's value as a Python bool, as optax does) are cast as arrays.
                    lambda old, new: jnp.where(emit, jnp.asarray(new).astype(dtype_of(old)), old),
                    state.inner_opt_state,
                    new_inner_state,
                ),
                acc_grads=jax.tree.map(
                    lambda acc: _times_flag(jnp.logical_not(emit), acc).astype(self._accumulator_dtype),
                    acc_grads,
                ),
                skip_state=skip_state,
            )
            return jax.tree.map(lambda u: _times_flag(emit, u), inner_updates), new_state

        def skip_update(updates, state, params):
            # The zero updates must have the type of the inner updates: ask the inner update, unrun.
            static_args = {k: v for k, v in extra_args.items() if not isinstance(v, jax.Array)}
            array_args = {k: v for k, v in extra_args.items() if isinstance(v, jax.Array)}
            inner_update = functools.partial(self._opt.update, **static_args)
            inner_shapes, _ = jax.eval_shape(
                inner_update,
                cast_like(state.acc_grads, updates),
                state.inner_opt_state,
                params,
                **array_args,
            )
            zero_updates = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), inner_shapes)
            return zero_updates, state._replace(skip_state=skip_state)

        return jax.lax.cond(should_skip, skip_update, do_update, updates, state, params)

    def has_updated(self, state: MultiStepsState | Any) -> jax.Array:
        """True right after a mini-step that emitted an inner update."""
        return jnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformation:
        """`MultiSteps` as a `GradientTransformation(init, update)` (to chain it, or for flax)."""
        return GradientTransformationExtraArgs(init=self.init, update=self.update)


class ApplyEvery(NamedTuple):
    """State of `apply_every`: int32 count modulo k and the sum of the grads since the last emit."""

    count: jax.Array
    grad_acc: Updates


def apply_every(k: jax.typing.ArrayLike = 1) -> GradientTransformation:
    """Sums the updates of k steps and emits the sum every k-th step (zeros in between).

    Update rule: `acc <- acc + g` (`acc <- g` on the first of k steps);
    `u <- acc` on the k-th step, `u <- 0` otherwise. Unlike `MultiSteps`, the
    transformations before it in a chain still update their state every step,
    and the result is the sum, not the mean.

    Args:
      k: emit every k steps, an int >= 1. Default 1.

    Returns:
      A `GradientTransformation` with state `ApplyEvery(count, grad_acc)`, as optax.
    """
    checks.positive_int("apply_every", "k", k)

    def init(params):
        return ApplyEvery(count=zero_count(), grad_acc=tree_zeros_like(params))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.grad_acc, who="apply_every", what="state.grad_acc")
        position = state.count % k
        keep = position != 0
        summed = jax.tree.map(
            lambda g, acc: jnp.where(keep, promoted(jnp.add, acc, g), promote(acc, g)[1]),
            updates,
            state.grad_acc,
        )
        emit = position == k - 1
        new_updates = jax.tree.map(
            lambda s, g: jnp.where(emit, s, jnp.zeros_like(s)).astype(g.dtype), summed, updates
        )
        return new_updates, ApplyEvery(
            count=safe_increment(state.count) % k, grad_acc=cast_like(summed, state.grad_acc)
        )

    return GradientTransformationExtraArgs(init, update)
