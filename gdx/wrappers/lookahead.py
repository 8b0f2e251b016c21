"""Lookahead (Zhang et al. 2019): k fast steps forward, then one slow step back towards them."""

from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import cast_like, dtype_of, promoted
from gdx._common.moments import zero_count
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    Updates,
    with_extra_args_support,
)


class LookaheadState(NamedTuple):
    """State of `lookahead`: the fast optimizer's state and the int32 fast steps since the last sync."""

    fast_state: OptState
    steps_since_sync: jax.Array


class LookaheadParams(NamedTuple):
    """The fast and slow copies of the params that `lookahead` updates.

    Compute the gradients at `fast`; evaluate (test, infer) with `slow`.
    """

    fast: Params
    slow: Params

    @classmethod
    def init_synced(cls, params: Params) -> "LookaheadParams":
        """Fast and slow params both equal to `params`."""
        return cls(slow=params, fast=params)


def _is_lookahead_params(params: Any) -> bool:
    return isinstance(params, tuple) and hasattr(params, "fast") and hasattr(params, "slow")


def _lookahead_updates(
    updates: Updates, sync_next: jax.Array, params: LookaheadParams, slow_step_size: Any
) -> LookaheadParams:
    """The updates of a fast step, merged with the synchronisation when `sync_next`.

    With `d = fast + u - slow` (the fast params after this step minus the slow ones)::

        slow_update = slow_step_size * d                    if sync_next else 0
        fast_update = u - (1 - slow_step_size) * d          if sync_next else u

    so after a sync both copies equal `slow + slow_step_size * d`.
    """
    last_difference = jax.tree.map(
        lambda fast, u, slow: promoted(jnp.subtract, promoted(jnp.add, fast, u), slow),
        params.fast,
        updates,
        params.slow,
    )
    # optax multiplies by the flag (`slow_step_size * sync_next * d`, `u - sync_next * (1 -
    # slow_step_size) * d`) rather than selecting: the same arithmetic runs on every step, so
    # XLA compiles the same program and the bits match optax's. `where(sync_next, c, 0.0)` is
    # that product of a bool and a scalar, spelt so strict promotion accepts it (weak-typed
    # for a Python scalar, as standard promotion makes it).
    slow_factor = jnp.where(sync_next, slow_step_size, 0.0)
    fast_factor = jnp.where(sync_next, 1 - slow_step_size, 0.0)
    slow_updates = jax.tree.map(lambda d: promoted(jnp.multiply, slow_factor, d), last_difference)
    fast_updates = jax.tree.map(
        lambda u, d: promoted(jnp.subtract, u, promoted(jnp.multiply, fast_factor, d)),
        updates,
        last_difference,
    )
    # The type of `params` (optax's LookaheadParams works too), so the updates add to them.
    return type(params)(fast=cast_like(fast_updates, updates), slow=cast_like(slow_updates, params.slow))


def lookahead(
    fast_optimizer: GradientTransformation,
    sync_period: jax.typing.ArrayLike,
    slow_step_size: jax.typing.ArrayLike,
    reset_state: bool = False,
) -> GradientTransformation:
    """Lookahead: the fast optimizer steps `fast`; every `sync_period` steps `slow` moves towards it.

    Update rule (on `LookaheadParams(fast, slow)`, gradients taken at `fast`)::

        fast <- fast + fast_optimizer(g)                       every step
        every sync_period-th step:
            slow <- slow + slow_step_size * (fast - slow)
            fast <- slow

    Both happen in one update (see `_lookahead_updates`), so apply the returned
    `LookaheadParams` updates unchanged. Extra arguments are forwarded to the
    fast optimizer (optax's lookahead does not take them).

    Args:
      fast_optimizer: the inner optimizer.
      sync_period: fast steps between synchronisations, an int >= 1 (k in the paper).
      slow_step_size: how far `slow` moves towards `fast` at a sync, in [0, 1] (alpha in the paper).
      reset_state: reset the fast optimizer's state to its init value at every sync. Default False.

    Returns:
      A `GradientTransformation` on `LookaheadParams`, with state
      `LookaheadState(fast_state, steps_since_sync)`, as `optax.lookahead`.

    Reference: Zhang, Lucas, Hinton & Ba, "Lookahead Optimizer: k steps forward,
    1 step back", NeurIPS 2019.
    """
    checks.positive_int("lookahead", "sync_period", sync_period)
    checks.closed_unit("lookahead", "slow_step_size", slow_step_size)
    fast_optimizer = with_extra_args_support(fast_optimizer)

    def init(params):
        # As optax, `init` also takes the plain (fast) params.
        fast_params = params.fast if _is_lookahead_params(params) else params
        return LookaheadState(fast_state=fast_optimizer.init(fast_params), steps_since_sync=zero_count())

    def update(updates, state, params=None, **extra_args):
        if not _is_lookahead_params(params):
            raise ValueError(
                "lookahead needs params=LookaheadParams(fast, slow) in update (build them with "
                f"gdx.LookaheadParams.init_synced(params)); got {type(params).__name__}"
            )
        params = cast(LookaheadParams, params)
        updates, fast_state = fast_optimizer.update(updates, state.fast_state, params.fast, **extra_args)
        sync_next = state.steps_since_sync == sync_period - 1
        new_updates = _lookahead_updates(updates, sync_next, params, slow_step_size)
        if reset_state:
            initial_state = fast_optimizer.init(params.fast)
            fast_state = jax.tree.map(
                lambda current, initial: jnp.where(sync_next, initial, current).astype(dtype_of(current)),
                fast_state,
                initial_state,
            )
        steps_since_sync = (state.steps_since_sync + 1) % sync_period
        return new_updates, LookaheadState(fast_state, steps_since_sync)

    return GradientTransformationExtraArgs(init, update)
