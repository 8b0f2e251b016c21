"""Constraints on updates and params: replace NaNs by zeros, keep params non-negative."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import is_none, promoted
from gdx.core import EmptyState, GradientTransformation, GradientTransformationExtraArgs, record_structure

NonNegativeParamsState = EmptyState


class ZeroNansState(NamedTuple):
    """State of `zero_nans`: one boolean per param leaf, True iff the last update had a NaN there."""

    found_nan: Any


def zero_nans() -> GradientTransformation:
    """Replaces NaNs in the updates by zeros and records which leaves had any.

    Update rule, leaf by leaf: `found_nan <- any(isnan(u)); u <- where(isnan(u), 0, u)`.
    The state is not used by the transformation; it lets a training loop see
    (and log) that NaNs were zeroed out.

    Returns:
      A `GradientTransformation` with state `ZeroNansState(found_nan)`, a tree
      of 0-d booleans with the structure of the params.
    """

    def init(params):
        return ZeroNansState(found_nan=jax.tree.map(lambda _: jnp.array(False, dtype=jnp.bool_), params))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        if jax.tree.structure(updates) != jax.tree.structure(state.found_nan):
            checks.check_same_structure(updates, state.found_nan, who="zero_nans", what="state.found_nan")
        found_nan = jax.tree.map(lambda u: jnp.any(jnp.isnan(u)), updates)
        updates = jax.tree.map(lambda u: jnp.where(jnp.isnan(u), jnp.zeros_like(u), u), updates)
        return updates, ZeroNansState(found_nan=found_nan)

    return GradientTransformationExtraArgs(init, update)


def keep_params_nonnegative() -> GradientTransformation:
    """Modifies the updates so that the params stay >= 0 after `apply_updates`.

    Update rule, element by element: `u <- -p if p + u < 0 else u` (the param
    lands exactly on 0). Put it last in a chain. Params that are already
    negative are moved to 0.

    Returns:
      A stateless `GradientTransformation` (`NonNegativeParamsState = EmptyState`).
      `update` needs `params`.
    """
    who = "keep_params_nonnegative"

    def init(params):
        del params
        return NonNegativeParamsState()

    def clamp(p, u):
        if p is None:
            return None
        lands_below_zero = promoted(jnp.add, p, u) < 0.0
        return promoted(lambda neg_p, u_: jnp.where(lands_below_zero, neg_p, u_), -p, u).astype(u.dtype)

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params)")
        checks.check_same_structure(updates, params, who=who, what="params")
        return jax.tree.map(clamp, params, updates, is_leaf=is_none), state

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)
