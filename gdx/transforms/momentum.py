"""Accumulators of past updates: heavy-ball/Nesterov momentum (`trace`) and `ema`."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, cast_like, is_none, promoted, tree_zeros_like
from gdx._common.moments import bias_correction, safe_increment, zero_count
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, record_structure


class TraceState(NamedTuple):
    """State of `trace`: the momentum buffer, one leaf per param."""

    trace: Any


class EmaState(NamedTuple):
    """State of `ema`: the int32 step count and the moving average, one leaf per param."""

    count: jax.Array
    ema: Any


def trace(
    decay: jax.typing.ArrayLike,
    nesterov: bool = False,
    accumulator_dtype: Any | None = None,
) -> GradientTransformation:
    """Heavy-ball momentum: `t <- g + decay * t; u <- t` (Nesterov: `u <- g + decay * t`).

    Note `trace` does not damp the gradient (`ema` does: `(1 - decay) * g`).

    Args:
      decay: momentum coefficient in [0, 1].
      nesterov: use Nesterov's look-ahead update (default False).
      accumulator_dtype: dtype of the momentum buffer; `None` (default) uses
        the params' dtypes.

    Returns:
      A `GradientTransformation` with state `TraceState(trace)`, as `optax.trace`.

    References:
      Polyak, 1964; Sutskever et al., On the importance of initialization and
      momentum in deep learning, 2013 (Nesterov form).
    """
    checks.closed_unit("trace", "decay", decay)
    accumulator_dtype = canonical_dtype(accumulator_dtype)

    def accumulate(g, t):
        return promoted(jnp.add, g, promoted(jnp.multiply, decay, t))

    def init(params):
        return TraceState(trace=tree_zeros_like(params, accumulator_dtype))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.trace, who="trace", what="state.trace")
        new_trace = jax.tree.map(
            lambda g, t: None if g is None else accumulate(g, t), updates, state.trace, is_leaf=is_none
        )
        look_ahead = nesterov
        new_updates = jax.tree.map(
            lambda g, t: None if g is None else (accumulate(g, t) if look_ahead else t).astype(g.dtype),
            updates,
            new_trace,
            is_leaf=is_none,
        )
        return new_updates, TraceState(trace=cast_like(new_trace, state.trace))

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


def ema(
    decay: jax.typing.ArrayLike,
    debias: bool = True,
    accumulator_dtype: Any | None = None,
) -> GradientTransformation:
    """Exponential moving average of the updates, optionally debiased.

    Update rule: `m <- (1 - decay) * g + decay * m; count += 1;
    u <- m / (1 - decay**count)` if `debias` else `u <- m`.

    Args:
      decay: averaging coefficient in [0, 1).
      debias: divide by `1 - decay**count` to remove the bias towards the zero
        initialisation (default True).
      accumulator_dtype: dtype of the average; `None` (default) uses the params'.

    Returns:
      A `GradientTransformation` with state `EmaState(count, ema)`, as `optax.ema`.
    """
    checks.decay_rate("ema", "decay", decay)
    accumulator_dtype = canonical_dtype(accumulator_dtype)

    def average(g, m):
        # Same operations, in the same order, as optax.tree.update_moment(order=1).
        return promoted(jnp.add, promoted(jnp.multiply, 1 - decay, g**1), promoted(jnp.multiply, decay, m))

    def init(params):
        return EmaState(count=zero_count(), ema=tree_zeros_like(params, accumulator_dtype))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.ema, who="ema", what="state.ema")
        new_ema = jax.tree.map(
            lambda g, m: None if g is None else average(g, m), updates, state.ema, is_leaf=is_none
        )
        count = safe_increment(state.count)
        new_updates = bias_correction(new_ema, decay, count) if debias else new_ema
        new_updates = jax.tree.map(
            lambda u, g: None if g is None else u.astype(g.dtype), new_updates, updates, is_leaf=is_none
        )
        return new_updates, EmaState(count=count, ema=cast_like(new_ema, state.ema))

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)
