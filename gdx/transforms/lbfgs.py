r"""L-BFGS preconditioning: `scale_by_lbfgs` (the two-loop recursion over a memory of past steps).

Operation for operation as optax 0.2.8's `scale_by_lbfgs`, so float32 results
agree with optax bit for bit; mixed dtypes are promoted explicitly (strict
promotion safe).
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import cast_like, promote, promoted, tree_zeros_like
from gdx._common.moments import safe_increment, zero_count
from gdx._common.tree_math import (
    global_norm,
    tree_add_scale,
    tree_real_vdot,
    tree_scale,
)
from gdx._common.tree_math import (
    squared_global_norm as tree_squared_norm,
)
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Params


class ScaleByLBFGSState(NamedTuple):
    """State of `scale_by_lbfgs`, optax's layout.

    Attributes:
      count: int32 iteration count.
      params: the params at the previous step.
      updates: the updates (gradients) at the previous step.
      diff_params_memory: the last `memory_size` differences of params,
        stacked on a leading axis of each leaf (a ring buffer).
      diff_updates_memory: the matching differences of updates.
      weights_memory: `rho_j = 1 / <du_j, dw_j>` for each memory slot (0 if undefined).
    """

    count: jax.Array
    params: Params
    updates: Params
    diff_params_memory: Any
    diff_updates_memory: Any
    weights_memory: jax.Array


def _at(tree: Any, index: jax.Array) -> Any:
    return jax.tree.map(lambda x: x[index], tree)


def _precondition_by_lbfgs(
    updates: Any,
    diff_params_memory: Any,
    diff_updates_memory: Any,
    weights_memory: jax.Array,
    identity_scale: Any,
    memory_idx: jax.Array,
) -> Any:
    """`P_k u`, by Nocedal & Wright's two-loop recursion (Algorithm 7.4)."""
    rhos = weights_memory
    memory_size = weights_memory.shape[0]
    # Oldest slot first: the backward loop visits newest to oldest.
    indices = (memory_idx + jnp.arange(memory_size)) % memory_size

    def right_product(vec, idx):
        dwi, dui = _at((diff_params_memory, diff_updates_memory), idx)
        alpha = rhos[idx] * tree_real_vdot(dwi, vec).astype(rhos.dtype)
        return cast_like(tree_add_scale(vec, -alpha, dui), vec), alpha

    precond_updates, alphas = jax.lax.scan(right_product, updates, indices, reverse=True)
    precond_updates = tree_scale(identity_scale, precond_updates)

    def left_product(vec, idx_alpha):
        idx, alpha = idx_alpha
        dwi, dui = _at((diff_params_memory, diff_updates_memory), idx)
        beta = rhos[idx] * tree_real_vdot(dui, vec).astype(rhos.dtype)
        return cast_like(tree_add_scale(vec, alpha - beta, dwi), vec), beta

    precond_updates, _ = jax.lax.scan(left_product, precond_updates, (indices, alphas))
    return precond_updates


def scale_by_lbfgs(memory_size: int = 10, scale_init_precond: bool = True) -> GradientTransformation:
    r"""Multiplies updates by L-BFGS's approximation of the inverse Hessian.

    With `w_k` the params, `u_k` the updates (gradients) at step `k`,
    `dw_j = w_{j+1} - w_j`, `du_j = u_{j+1} - u_j`, `rho_j = 1 / <du_j, dw_j>`,
    the output is `P_k u_k` where, over the last `m = memory_size` pairs::

        P_{k,k-m} = gamma_k I
        P_{k,j+1} = V_j^T P_{k,j} V_j + rho_j dw_j dw_j^T,   V_j = I - rho_j du_j dw_j^T

        gamma_k = <dw_{k-1}, du_{k-1}> / <du_{k-1}, du_{k-1}>   if scale_init_precond (else 1)
        gamma_0 = min(1, 1 / ||u_0||)                            if scale_init_precond

    computed by the two-loop recursion (no matrix is formed). The memory is
    refreshed with the new pair before preconditioning, so a line search chained
    after this transformation updates it only with accepted steps. The output
    is a descent direction *up to sign*: chain a negative scale or a line search
    (see `gdx.lbfgs`).

    Args:
      memory_size: number of past `(dw, du)` pairs kept, an integer >= 1. Default 10.
      scale_init_precond: start the recursion from `gamma_k I` (True, default)
        rather than the identity.

    Returns:
      A `GradientTransformation` with state `ScaleByLBFGSState(count, params,
      updates, diff_params_memory, diff_updates_memory, weights_memory)`, optax's
      layout. `update` needs `params`.

    References: Nocedal & Wright, "Numerical Optimization", 1999, Algorithms 7.4
    and 7.5; Liu & Nocedal, "On the limited memory BFGS method for large scale
    optimization", 1989.

    Deliberate difference from optax: the updates keep the grads' dtype (optax
    returns float32 updates for bfloat16 grads) and the state keeps its dtypes.
    Float32 results are identical.
    """
    who = "scale_by_lbfgs"
    checks.positive_int(who, "memory_size", memory_size)

    def init(params):
        def stacked_zeros():  # one fresh buffer per field (optax shares one), so the state can be donated
            return jax.tree.map(lambda leaf: jnp.zeros((memory_size, *leaf.shape), leaf.dtype), params)

        return ScaleByLBFGSState(
            count=zero_count(),
            params=tree_zeros_like(params),
            updates=tree_zeros_like(params),
            diff_params_memory=stacked_zeros(),
            diff_updates_memory=stacked_zeros(),
            weights_memory=jnp.zeros(memory_size, jnp.float32),
        )

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params)")
        checks.check_same_structure(updates, state.updates, who=who, what="state.updates")
        memory_idx = state.count % memory_size
        prev_memory_idx = (state.count - 1) % memory_size

        # 1. Store the newest pair (dw, du) and its weight; nothing is defined at step 0.
        diff_params = cast_like(
            jax.tree.map(lambda p, q: promoted(jnp.subtract, p, q), params, state.params), state.params
        )
        diff_updates = cast_like(
            jax.tree.map(lambda u, v: promoted(jnp.subtract, u, v), updates, state.updates),
            state.updates,
        )
        curvature = tree_real_vdot(diff_updates, diff_params)
        weight = jnp.where(curvature == 0.0, 0.0, 1.0 / curvature).astype(state.weights_memory.dtype)
        diff_params, diff_updates, weight = jax.tree.map(
            lambda x: jnp.where(state.count > 0, x, jnp.zeros_like(x)), (diff_params, diff_updates, weight)
        )
        diff_params_memory, diff_updates_memory, weights_memory = jax.tree.map(
            lambda memory, new: memory.at[prev_memory_idx].set(new),
            (state.diff_params_memory, state.diff_updates_memory, state.weights_memory),
            (diff_params, diff_updates, weight),
        )

        # 2. gamma_k, the scale of the identity the recursion starts from.
        if scale_init_precond:
            numerator = tree_real_vdot(diff_updates, diff_params)
            denominator = tree_squared_norm(diff_updates)
            numerator, denominator = promote(numerator, denominator)
            identity_scale = jnp.where(denominator > 0.0, numerator / denominator, 1.0)
            # First step: a capped inverse gradient norm keeps the first step inside the unit ball.
            update_norm = global_norm(jax.lax.stop_gradient(updates))
            capped_inv_norm = jnp.minimum(1.0, 1.0 / update_norm)
            identity_scale = jnp.where(state.count > 0, *promote(identity_scale, capped_inv_norm))
        else:
            identity_scale = 1.0

        # 3. P_k u_k by the two-loop recursion.
        precond_updates = _precondition_by_lbfgs(
            updates, diff_params_memory, diff_updates_memory, weights_memory, identity_scale, memory_idx
        )
        new_state = ScaleByLBFGSState(
            count=safe_increment(state.count),
            params=cast_like(params, state.params),
            updates=cast_like(updates, state.updates),
            diff_params_memory=diff_params_memory,
            diff_updates_memory=diff_updates_memory,
            weights_memory=weights_memory,
        )
        return cast_like(precond_updates, updates), new_state

    return GradientTransformationExtraArgs(init, update)
