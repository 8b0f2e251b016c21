"""SM3: an Adagrad-like accumulator kept as one vector per axis (`scale_by_sm3`).

The arithmetic mirrors optax 0.2.8 operation for operation, with promotions
written out so the code runs under `jax.numpy_dtype_promotion('strict')`.
One deliberate difference: optax raises `IndexError` on a 0-d (scalar) leaf;
gdx treats a scalar as a one-element vector (see `scale_by_sm3`).
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import cast_like, promoted, tree_zeros_like
from gdx._common.moments import update_moment
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates


class ScaleBySM3State(NamedTuple):
    """State of `scale_by_sm3`.

    `mu` holds, for each leaf, a list of one accumulator vector per axis
    (a 1-D leaf: its own per-element accumulator); `nu` the momentum of the
    updates, one leaf per param.
    """

    mu: Updates
    nu: Updates


def _zeros_like_axis(x: jax.Array, axis: int) -> jax.Array:
    # Through eval_shape, as optax, so the accumulator gets the sharding jax infers for it.
    other_axes = tuple(i for i in range(x.ndim) if i != axis)
    return jnp.zeros_like(jax.eval_shape(functools.partial(jnp.sum, axis=other_axes), x))


def _accumulators_for(param: jax.Array) -> list[jax.Array]:
    if param.ndim == 0:  # gdx: a scalar keeps one 0-d accumulator (optax keeps none and then fails)
        return [jnp.zeros_like(param)]
    return [_zeros_like_axis(param, i) for i in range(param.ndim)]


def _expanded_shape(shape: tuple[int, ...], axis: int) -> list[int]:
    # [M, N, K] with axis 1 -> [1, N, 1]
    return [1] * axis + [shape[axis]] + [1] * (len(shape) - axis - 1)


def _other_axes(axis: int, ndim: int) -> list[int]:
    return list(range(axis)) + list(range(axis + 1, ndim))


def scale_by_sm3(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 1e-8,
) -> GradientTransformation:
    """Rescales updates by SM3's accumulators (SM3-II), then averages them with momentum.

    Update rule, leaf by leaf (one accumulator vector `mu[i]` per axis `i`)::

        nu_hat = min_i mu[i]   (broadcast over the leaf's shape; a vector's own accumulator)
        a  <- c * g**2 + b2 * nu_hat        # c = 1 - b2, or 1 when b2 == 1 (Adagrad-like sums)
        mu[i] <- max of a over every axis but i
        u  <- g / sqrt(a + eps)  where a > 0, else 0
        m  <- (1 - b1) * u + b1 * m
        u  <- m

    Memory is `O(sum of the axis lengths)` per leaf instead of `O(size)`.

    Deliberate difference from optax: optax's state for a 0-d leaf has no
    accumulator and its `update` raises `IndexError`; gdx keeps one 0-d
    accumulator (`mu` is `[zeros(())]` there) and treats the scalar as a
    one-element vector (Adagrad). Trees without 0-d leaves give optax's numbers.

    Args:
      b1: momentum of the rescaled updates, in [0, 1). Default 0.9.
      b2: decay of the accumulators, in [0, 1]; 1 (default) sums squared
        gradients as the paper does.
      eps: added to the accumulator inside the square root, >= 0. Default 1e-8.

    Returns:
      A `GradientTransformation` with state `ScaleBySM3State(mu, nu)`.

    References:
      Anil, Gupta, Koren & Singer, Memory-Efficient Adaptive Optimization, NeurIPS 2019.
    """
    who = "scale_by_sm3"
    checks.decay_rate(who, "b1", b1)
    checks.closed_unit(who, "b2", b2)
    checks.non_negative(who, "eps", eps)
    b2_number = checks.concrete_number(b2)
    if b2_number is not None:
        new_term_weight: Any = (1.0 - b2) if b2_number != 1.0 else 1.0
    else:  # a traced b2
        new_term_weight = jnp.where(jnp.asarray(b2) != 1.0, 1.0 - jnp.asarray(b2), 1.0)

    def new_accumulator(g, broadcast_mu):
        previous = broadcast_mu[0] if g.ndim < 2 else functools.reduce(jnp.minimum, broadcast_mu)
        fresh = promoted(jnp.multiply, new_term_weight, g**2)
        return promoted(jnp.add, fresh, promoted(jnp.multiply, b2, previous))

    def rescale(g, accumulator):
        inverse_sqrt = jnp.where(accumulator > 0, jax.lax.rsqrt(promoted(jnp.add, accumulator, eps)), 0.0)
        return promoted(jnp.multiply, g, inverse_sqrt)

    def new_mu(accumulator, old_mu):
        if accumulator.ndim < 2:
            return [accumulator.astype(old_mu[0].dtype)]
        return [
            jnp.max(accumulator, axis=_other_axes(i, accumulator.ndim)).astype(old.dtype)
            for i, old in enumerate(old_mu)
        ]

    def init(params):
        for leaf in jax.tree.leaves(params):
            if jnp.iscomplexobj(leaf):  # as optax: the max/min covers need an order
                raise ValueError(f"{who} does not support complex params")
        return ScaleBySM3State(mu=jax.tree.map(_accumulators_for, params), nu=tree_zeros_like(params))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.nu, who=who, what="state.nu")
        grads, treedef = jax.tree.flatten(updates)
        old_mus = treedef.flatten_up_to(state.mu)
        broadcast_mus = [
            [jnp.reshape(m, _expanded_shape(g.shape, i)) for i, m in enumerate(mu)] if g.ndim else mu
            for g, mu in zip(grads, old_mus)
        ]
        accumulators = [new_accumulator(g, mu) for g, mu in zip(grads, broadcast_mus)]
        rescaled = treedef.unflatten([rescale(g, a) for g, a in zip(grads, accumulators)])
        nu = cast_like(update_moment(rescaled, state.nu, b1, 1), state.nu)
        mu = treedef.unflatten([new_mu(a, old) for a, old in zip(accumulators, old_mus)])
        new_updates = jax.tree.map(lambda m, g: m.astype(g.dtype), nu, updates)
        return new_updates, ScaleBySM3State(mu=mu, nu=nu)

    return GradientTransformationExtraArgs(init, update)
