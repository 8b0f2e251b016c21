"""Sophia's update rule (`scale_by_sophia`) and its Hessian estimate (`hutchinson_estimator_diag_hessian`).

Mirrors `optax.contrib` 0.2.8 (itself following levanter's implementation by
the paper's authors), with promotions written out for strict dtype promotion.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, cast_like, promote, promoted, tree_zeros_like
from gdx._common.moments import bias_correction, safe_increment, update_moment, zero_count
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)


class HutchinsonState(NamedTuple):
    """State of `hutchinson_estimator_diag_hessian`: the PRNG key of the next probe."""

    key: jax.Array


def _raw_key(random_seed: Any) -> Any:
    if random_seed is None:
        return jax.random.PRNGKey(0)
    if isinstance(random_seed, int) and not isinstance(random_seed, bool):
        return jax.random.PRNGKey(random_seed)
    return random_seed


def hutchinson_estimator_diag_hessian(random_seed: jax.Array | None = None) -> GradientTransformation:
    r"""Estimates the Hessian diagonal of `obj_fn` at the params with one Rademacher probe.

    Update rule (ignores the incoming updates)::

        key, probe_key = split(key)
        z ~ Rademacher (+-1), one leaf per param, keys split from probe_key in tree order
        u <- z * (H z)        # H z = jvp(grad(obj_fn), params, z); E[u] = diag(H)

    `update(updates, state, params, obj_fn=...)` needs the params and
    `obj_fn: params -> scalar loss`. The probe is drawn as optax draws it, so
    the same key gives optax's numbers. Deliberate difference: optax casts the
    probe to the lowest dtype in the params and so fails (jvp dtype mismatch) on
    a tree mixing float32 and bfloat16 leaves; gdx casts each probe leaf to its
    param's dtype (the same +-1 values).

    Args:
      random_seed: a PRNG key (`jax.random.PRNGKey` or `jax.random.key`) or an
        int seed. Default `None` is `jax.random.PRNGKey(0)`, as optax.

    Returns:
      A `GradientTransformation` with state `HutchinsonState(key)`.

    Reference: Hutchinson, "A stochastic estimator of the trace of the influence
    matrix for Laplacian smoothing splines", 1989; Liu et al., "Sophia", 2023.
    """
    who = "hutchinson_estimator_diag_hessian"

    def init(params):
        del params
        return HutchinsonState(key=_raw_key(random_seed))

    def update(updates, state, params=None, obj_fn=None, **extra_args):
        del updates, extra_args
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params, obj_fn=...)")
        if obj_fn is None:
            raise ValueError(f"{who} needs obj_fn: call update(grads, state, params, obj_fn=loss_of_params)")
        key, probe_key = jax.random.split(state.key)
        leaves, treedef = jax.tree.flatten(params)
        keys = jax.random.split(probe_key, treedef.num_leaves)
        probe = treedef.unflatten(
            [
                jax.random.rademacher(k, jnp.shape(p), jnp.float32).astype(jnp.result_type(p))
                for k, p in zip(keys, leaves)
            ]
        )
        hessian_probe = jax.jvp(jax.grad(obj_fn), (params,), (probe,))[1]
        estimate = jax.tree.map(lambda h, z: promoted(jnp.multiply, h, z), hessian_probe, probe)
        return estimate, HutchinsonState(key=key)

    return GradientTransformationExtraArgs(init, update)


class SophiaState(NamedTuple):
    """State of Sophia: int32 step count, momentum, EMA of the Hessian diagonal, the estimator's state."""

    count: jax.Array
    mu: Any
    nu: Any
    hessian_fn_state: Any


def _validate_sophia(
    who: str,
    b1: Any,
    b2: Any,
    eps: Any,
    gamma: Any,
    clip_threshold: Any,
    update_interval: Any,
    verbose: bool,
    print_win_rate_every_n_steps: Any,
) -> None:
    checks.decay_rate(who, "b1", b1)
    checks.decay_rate(who, "b2", b2)
    checks.non_negative(who, "eps", eps)
    checks.non_negative(who, "gamma", gamma)
    if clip_threshold is not None:
        checks.positive(who, "clip_threshold", clip_threshold)
    checks.positive_int(who, "update_interval", update_interval)
    if verbose:
        checks.positive_int(who, "print_win_rate_every_n_steps", print_win_rate_every_n_steps)
    else:
        checks.non_negative_int(who, "print_win_rate_every_n_steps", print_win_rate_every_n_steps)


def scale_by_sophia(
    b1: jax.typing.ArrayLike = 0.965,
    b2: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    gamma: jax.typing.ArrayLike = 0.01,
    clip_threshold: jax.typing.ArrayLike | None = 1.0,
    update_interval: jax.typing.ArrayLike = 10,
    hessian_diagonal_fn: GradientTransformation | None = None,
    mu_dtype: Any | None = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: jax.typing.ArrayLike = 0,
) -> GradientTransformation:
    """Sophia's preconditioning without weight decay or learning rate (see `sophia`).

    `hessian_diagonal_fn=None` means `hutchinson_estimator_diag_hessian()`.
    Extra keyword arguments of `update` (e.g. `obj_fn=`) go to `hessian_diagonal_fn`.
    """
    who = "sophia"
    _validate_sophia(
        who, b1, b2, eps, gamma, clip_threshold, update_interval, verbose, print_win_rate_every_n_steps
    )
    mu_dtype = canonical_dtype(mu_dtype)
    hessian_fn = with_extra_args_support(
        hutchinson_estimator_diag_hessian() if hessian_diagonal_fn is None else hessian_diagonal_fn
    )

    def init(params):
        return SophiaState(
            count=zero_count(),
            mu=tree_zeros_like(params, dtype=mu_dtype),
            nu=tree_zeros_like(params),
            hessian_fn_state=hessian_fn.init(params),
        )

    def update(updates, state, params=None, **extra_args):
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params, obj_fn=...)")
        checks.check_same_structure(updates, state.nu, who=who, what="state.nu")
        count_inc = safe_increment(state.count)
        grads = updates
        mu = update_moment(updates, state.mu, b1, 1)
        mu_hat = bias_correction(mu, b1, count_inc)
        steps = jax.tree.map(
            lambda m, h: promoted(
                jnp.divide, m, promoted(jnp.maximum, promoted(jnp.multiply, gamma, h), eps)
            ),
            mu_hat,
            state.nu,
        )
        if clip_threshold is not None:
            if verbose:
                not_clipped = sum(
                    jnp.sum(promoted(jnp.less, jnp.abs(u), clip_threshold)) for u in jax.tree.leaves(steps)
                )
                win_rate = not_clipped / sum(u.size for u in jax.tree.leaves(steps))
                jax.lax.cond(
                    count_inc % print_win_rate_every_n_steps == 0,
                    lambda: jax.debug.print("Sophia optimizer win rate: {}", win_rate),
                    lambda: None,
                )
            threshold: Any = clip_threshold
            steps = jax.tree.map(lambda u: jnp.clip(*promote(u, -threshold, threshold)), steps)

        def refresh(hessian_state, nu):
            diagonal, hessian_state = hessian_fn.update(grads, hessian_state, params, **extra_args)
            return hessian_state, cast_like(update_moment(diagonal, nu, b2, 1), nu)

        hessian_state, nu = jax.lax.cond(
            state.count % update_interval == 0,
            refresh,
            lambda h, n: (h, n),
            state.hessian_fn_state,
            state.nu,
        )
        new_state = SophiaState(
            count=count_inc, mu=cast_like(mu, state.mu), nu=nu, hessian_fn_state=hessian_state
        )
        return jax.tree.map(lambda u, g: u.astype(g.dtype), steps, grads), new_state

    return GradientTransformationExtraArgs(init, update)
