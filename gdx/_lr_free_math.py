"""Arithmetic shared by the learning-rate-free optimizers (prodigy, D-Adaptation, DoG, Mechanic, MoMo).

Each helper is one operation of optax.contrib's code, promoted explicitly as
standard promotion would promote it, so the optimizers agree with optax in
float32 and also run under `jax.numpy_dtype_promotion('strict')`.

Scalar state (distance estimates, step sizes, loss averages) lives in the
params' *highest* float dtype (`scalar_dtype`). optax initialises it in the
lowest one and its first step promotes it, so on a tree mixing float32 and
bfloat16 leaves optax's state changes dtype and `jit`/`lax.scan` loops fail;
on trees of a single dtype the two agree.
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp

from gdx._tree import decay_power, promote, promoted, promoted_dtype


def _python(*values: Any) -> bool:
    return all(type(v) in (int, float) for v in values)


# Python numbers are combined in Python (double precision), as optax's expressions do.
def add(a: Any, b: Any) -> Any:
    return a + b if _python(a, b) else promoted(jnp.add, a, b)


def sub(a: Any, b: Any) -> Any:
    return a - b if _python(a, b) else promoted(jnp.subtract, a, b)


def mul(a: Any, b: Any) -> Any:
    return a * b if _python(a, b) else promoted(jnp.multiply, a, b)


def div(a: Any, b: Any) -> Any:
    return a / b if _python(a, b) else promoted(jnp.divide, a, b)


def negative(a: Any) -> Any:
    return -a


def maximum(a: Any, b: Any) -> Any:
    return promoted(jnp.maximum, a, b)


def minimum(a: Any, b: Any) -> Any:
    return promoted(jnp.minimum, a, b)


def power(base: Any, count: jax.Array) -> jax.Array:
    """`base ** count` for an int32 counter, in float32 (or `base`'s dtype if it is a float array).

    Exactly optax's `base**count`, eager or jitted (see `gdx._tree.decay_power`).
    """
    return decay_power(base, count)


def adam_step_scale(d: Any, multiplier: Any, beta1: Any, beta2: Any, count: jax.Array) -> jax.Array:
    """`d * multiplier * sqrt(1 - beta2**count) / (1 - beta1**count)` as optax computes it.

    With Python betas optax's bias correction is weakly typed: it takes the
    dtype of `d * multiplier` (bfloat16 for a bfloat16 `d`) before the product.
    """
    correction = div(sub(1, power(beta2, count)) ** 0.5, sub(1, power(beta1, count)))
    scaled = mul(d, multiplier)
    if type(beta1) in (int, float) and type(beta2) in (int, float):
        correction = correction.astype(promoted_dtype(scaled, 1.0))
    return mul(scaled, correction)


def scalar_dtype(params: Any) -> Any:
    """The highest float dtype among the params' leaves (float32 for a tree without leaves)."""
    dtypes = [jnp.result_type(leaf) for leaf in jax.tree.leaves(params)]
    if not dtypes:
        return jnp.dtype(jnp.float32)
    return functools.reduce(promoted_dtype, dtypes)


def tree_sum(tree: Any) -> jax.Array:
    """`optax.tree.sum`: per-leaf sums added left to right starting from 0, each addition promoted."""
    total: Any = 0
    for leaf in jax.tree.leaves(tree):
        total, leaf_sum = promote(total, jnp.sum(leaf))
        total = total + leaf_sum
    return jnp.asarray(total)


def tree_abs_sum(tree: Any) -> jax.Array:
    """The L1 norm `sum_leaves sum(|x|)`, as `optax.tree.sum(jax.tree.map(jnp.abs, tree))`."""
    return tree_sum(jax.tree.map(jnp.abs, tree))


def tree_copy(params: Any) -> Any:
    """A copy of the params for the state (a reference point), so that donating both
    params and state to a jitted step does not donate one buffer twice."""
    return jax.tree.map(jnp.copy, params)


def require_params(who: str, params: Any) -> None:
    if params is None:
        raise ValueError(f"{who} needs params: call update(grads, state, params)")
