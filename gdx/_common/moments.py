"""Moments: moving averages, bias correction, `decay**count`, divide-by-root, step counters.

Each function computes, operation for operation, what optax 0.2.8 computes
(`optax.tree.update_moment`, `optax.tree.bias_correction`, `safe_increment`,
the `m / (sqrt(v + eps_root) + eps)` of its Adam family, ...), with the
promotions written out (`gdx._common.dtypes.promoted`), so the code is valid
under strict dtype promotion and its results have optax's dtypes and bits.
"""

import functools
import operator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gdx._common.dtypes import is_none, promoted, promoted_dtype, promoted_py
from gdx._common.tree_math import abs_sq
from gdx.core import Params, Updates


def safe_increment(count: jax.typing.ArrayLike) -> jax.Array:
    """Returns `count + 1`, saturating at the dtype's maximum instead of wrapping.

    An int32 step counter at 2**31 - 1 stays there, so bias corrections and
    schedules stay finite on arbitrarily long runs.
    """
    count = jnp.asarray(count)
    if jnp.issubdtype(count.dtype, jnp.integer):
        max_value = jnp.iinfo(count.dtype).max
    elif jnp.issubdtype(count.dtype, jnp.floating):
        max_value = jnp.finfo(count.dtype).max
    else:  # ValueError, as optax
        raise ValueError(f"safe_increment: count must be an integer or float array, got dtype {count.dtype}")
    max_value = jnp.array(max_value, count.dtype)
    return jnp.where(count < max_value, count + jnp.array(1, count.dtype), max_value)


safe_int32_increment = safe_increment


def zero_count() -> jax.Array:
    """A fresh int32 step counter."""
    return jnp.zeros([], jnp.int32)


def _is_float_array(x: Any) -> bool:
    return isinstance(x, jax.Array | np.ndarray) and jnp.issubdtype(x.dtype, jnp.floating)


def decay_power(decay: Any, count: Any) -> jax.Array:
    """`decay**count` for an integer `count`, computed exactly as optax's `decay**count` is.

    optax writes `decay**count` with a Python float (or float array) `decay` and
    an int32 `count`, which `jnp.power` evaluates in two different ways: for a
    concrete count (an eager call) by binary exponentiation
    (`lax.integer_pow`), for a traced one (under `jit`) as `lax.pow` with the
    integer exponent. The two differ by an ulp for some counts, so gdx picks
    the same one. Written with `lax` so it is valid under strict promotion. A
    Python `decay` is computed in float32 (it would round to 1 in low precision).
    """
    base = jnp.asarray(decay) if _is_float_array(decay) else jnp.asarray(decay, jnp.float32)
    try:
        exponent = operator.index(count)
    except TypeError:  # traced (or batched) count, as `jnp.power` tells them apart
        return jax.lax.pow(base, jnp.asarray(count))
    return jax.lax.integer_pow(base, exponent)


@functools.partial(jax.jit, inline=True)
def _bias_correction(moment: Any, decay: jax.typing.ArrayLike, count: jax.Array) -> Any:
    # Jitted (inlined into an enclosing `jit`) exactly as `optax.tree.bias_correction` is: called
    # eagerly, the division by the scalar correction then compiles to the same multiplication by its
    # reciprocal that XLA emits for optax, so eager gdx gives optax's bits too.
    correction = 1 - decay_power(decay, count)
    return jax.tree.map(lambda t: t / correction.astype(t.dtype), moment)


def bias_correction(moment: Updates, decay: jax.typing.ArrayLike, count: jax.typing.ArrayLike) -> Updates:
    """Divides a zero-initialised moving average by `1 - decay**count` to remove its bias.

    Update rule: `m_hat = m / (1 - decay**count)`; `decay**count` is computed in float32
    (so it does not round to 1 in low precision), the division in each leaf's dtype.

    Args:
      moment: the moving average, a pytree.
      decay: its decay rate, in [0, 1).
      count: the int32 number of updates averaged so far, >= 1.

    Returns:
      The bias-corrected moment, with the dtypes of `moment`.

    References:
      Kingma & Ba, Adam: A Method for Stochastic Optimization (Section 3), ICLR 2015.
      https://arxiv.org/abs/1412.6980
    """
    return _bias_correction(moment, decay, jnp.asarray(count))


def adam_step_scale(d: Any, multiplier: Any, beta1: Any, beta2: Any, count: jax.Array) -> jax.Array:
    """`d * multiplier * sqrt(1 - beta2**count) / (1 - beta1**count)` as optax.contrib computes it.

    With Python betas optax's bias correction is weakly typed: it takes the
    dtype of `d * multiplier` (bfloat16 for a bfloat16 `d`) before the product.
    """
    correction = promoted_py(
        jnp.divide,
        promoted_py(jnp.subtract, 1, decay_power(beta2, count)) ** 0.5,
        promoted_py(jnp.subtract, 1, decay_power(beta1, count)),
    )
    scaled = promoted_py(jnp.multiply, d, multiplier)
    if type(beta1) in (int, float) and type(beta2) in (int, float):
        correction = correction.astype(promoted_dtype(scaled, 1.0))
    return promoted_py(jnp.multiply, scaled, correction)


def divide_by_root(
    numerator: Any, second_moment: Any, eps: Any, eps_root: Any | None = None, dtype: Any | None = None
) -> Any:
    """`numerator / (sqrt(second_moment + eps_root) + eps)` (`sqrt(second_moment)` if `eps_root` is None).

    Each operation promoted as optax's standard promotion; the result cast to
    `dtype` (the grad's, as optax's `tree_cast_like` does) unless it is None.
    """
    if eps_root is not None:
        second_moment = promoted(jnp.add, second_moment, eps_root)
    ratio = promoted(jnp.divide, numerator, promoted(jnp.add, jnp.sqrt(second_moment), eps))
    return ratio if dtype is None else ratio.astype(dtype)


def moving_average(new_term: jax.Array, moment: jax.Array, decay: Any) -> jax.Array:
    """`(1 - decay) * new_term + decay * moment`, each operation promoted as in optax."""
    fresh = promoted(jnp.multiply, 1 - decay, new_term)
    kept = promoted(jnp.multiply, decay, moment)
    return promoted(jnp.add, fresh, kept)


def _power_of_norm(g: jax.Array, order: int) -> jax.Array:
    """`g**order` for real `g`; `|g|**order` for complex `g` (optax's per-element norm)."""
    if not jnp.iscomplexobj(g):
        return g**order
    half_order = order / 2
    if float(half_order).is_integer():
        half_order = int(half_order)
    return abs_sq(g) ** half_order


def update_moment(updates: Updates, moments: Updates, decay: jax.typing.ArrayLike, order: int) -> Updates:
    """Exponential moving average of the `order`-th power of the updates, leaf by leaf.

    Update rule: `m <- (1 - decay) * g**order + decay * m` (`None` leaves stay `None`).
    Strict-promotion safe: a float32 grad meeting a bfloat16 moment (or a
    float32 array `decay`) is combined as standard promotion would, per operation.

    Args:
      updates: the new terms `g`, a pytree.
      moments: the running averages `m`, same structure.
      decay: the weight of the past, usually in [0, 1).
      order: the power of `g` (1: mean, 2: uncentred variance).

    Returns:
      The new moments (in the standard-promoted dtype of `g` and `m`, as optax).

    References:
      Kingma & Ba, Adam: A Method for Stochastic Optimization, ICLR 2015.
      https://arxiv.org/abs/1412.6980
    """
    return jax.tree.map(
        lambda g, m: None if g is None else moving_average(g**order, m, decay),
        updates,
        moments,
        is_leaf=is_none,
    )


def update_moment_per_elem_norm(
    updates: Updates, moments: Updates, decay: jax.typing.ArrayLike, order: int
) -> Updates:
    """Exponential moving average of `|g|**order`, the element-wise norm (complex-aware).

    Update rule: `v <- (1 - decay) * |g|**order + decay * v`, with
    `|g|**order = g**order` for real `g` and `(conj(g) * g).real**(order / 2)` for complex `g`.

    Args:
      updates: the new terms `g`, a pytree (real or complex leaves).
      moments: the running averages `v`, same structure, real.
      decay: the weight of the past, usually in [0, 1).
      order: the power of `|g|`.

    Returns:
      The new moments.

    References:
      Kingma & Ba, Adam: A Method for Stochastic Optimization, ICLR 2015.
      https://arxiv.org/abs/1412.6980
    """
    return jax.tree.map(
        lambda g, v: None if g is None else moving_average(_power_of_norm(g, order), v, decay),
        updates,
        moments,
        is_leaf=is_none,
    )


def update_infinity_moment(
    updates: Updates, moments: Updates, decay: jax.typing.ArrayLike, eps: jax.typing.ArrayLike
) -> Updates:
    """Exponentially weighted infinity norm of the updates (Adamax's second moment).

    Update rule: `u <- max(|g| + eps, decay * u)`, leaf by leaf (`None` leaves stay `None`).

    Args:
      updates: the new terms `g`, a pytree.
      moments: the running maxima `u`, same structure.
      decay: the weight of the past, usually in [0, 1).
      eps: added to `|g|`, >= 0.

    Returns:
      The new moments.

    References:
      Kingma & Ba, Adam: A Method for Stochastic Optimization (Section 7.1), ICLR 2015.
      https://arxiv.org/abs/1412.6980
    """

    def leaf(g, u):
        if g is None:
            return None
        return promoted(jnp.maximum, promoted(jnp.add, jnp.abs(g), eps), promoted(jnp.multiply, decay, u))

    return jax.tree.map(leaf, updates, moments, is_leaf=is_none)


def incremental_update(new_tensors: Params, old_tensors: Params, step_size: jax.typing.ArrayLike) -> Params:
    """Polyak averaging: a moving average of parameters, for evaluation or target networks.

    Update rule: `old <- step_size * new + (1 - step_size) * old`, leaf by leaf.

    Args:
      new_tensors: the latest value of the tensors.
      old_tensors: the moving average so far, same structure.
      step_size: the weight of the new value, in [0, 1].

    Returns:
      The updated moving average (in the standard-promoted dtype of each pair, as optax).

    References:
      Polyak & Juditsky, Acceleration of Stochastic Approximation by Averaging, SIAM J. Control
      Optim. 1992. https://epubs.siam.org/doi/10.1137/0330046
    """

    def leaf(new, old):
        if new is None:
            return None
        fresh = promoted(jnp.multiply, step_size, new)
        kept = promoted(jnp.multiply, 1.0 - step_size, old)
        return promoted(jnp.add, fresh, kept)

    return jax.tree.map(leaf, new_tensors, old_tensors, is_leaf=is_none)


def periodic_update(
    new_tensors: Params,
    old_tensors: Params,
    steps: jax.typing.ArrayLike,
    update_period: jax.typing.ArrayLike,
) -> Params:
    """A slow copy of the parameters, refreshed every `update_period` steps (target networks).

    Update rule: `old <- new if steps % update_period == 0 else old`.

    Args:
      new_tensors: the latest value of the tensors.
      old_tensors: the slow copy, same structure and dtypes.
      steps: the number of updates of the online network (an int32 array or int).
      update_period: refresh period, an integer >= 1.

    Returns:
      `new_tensors` or `old_tensors`.

    References:
      Mnih et al., Human-level control through deep reinforcement learning, Nature 2015.
      https://www.nature.com/articles/nature14236
    """
    return jax.lax.cond(
        jnp.mod(steps, update_period) == 0,
        lambda _: new_tensors,
        lambda _: old_tensors,
        None,
    )
