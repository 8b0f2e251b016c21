"""Stochastic rounding to low precision: `stochastic_round`, `apply_updates_stochastic`."""

from typing import Any

import jax
import jax.numpy as jnp

from gdx._common.dtypes import promoted_dtype
from gdx.core import Params, Updates


def _round_bfloat16(x: jax.Array, key: jax.Array) -> jax.Array:
    """float32 -> bfloat16 with probability proportional to the distance to each neighbour.

    bfloat16 is the top 16 bits of a float32: adding uniform random bits to the
    low 16 bits and truncating them rounds the magnitude up with probability
    `low_bits / 2**16`, so `E[round(x)] = x` (for either sign). Infinities and
    NaNs keep their high bits and stay what they were.
    """
    bits = jax.lax.bitcast_convert_type(x, jnp.uint32)
    noise = jax.random.bits(key, x.shape, jnp.uint32) >> jnp.uint32(16)
    finite = jnp.isfinite(x)
    rounded = jnp.where(finite, bits + noise, bits) & jnp.uint32(0xFFFF0000)
    return jax.lax.bitcast_convert_type(rounded, jnp.float32).astype(jnp.bfloat16)


def _round_generic(x: jax.Array, dtype: Any, key: jax.Array) -> jax.Array:
    """float32 -> `dtype` (e.g. float16): the lower or upper neighbour, unbiased."""
    nearest = x.astype(dtype)
    above = nearest.astype(x.dtype) > x
    lower = jnp.where(above, jnp.nextafter(nearest, jnp.array(-jnp.inf, dtype)), nearest)
    upper = jnp.where(above, nearest, jnp.nextafter(nearest, jnp.array(jnp.inf, dtype)))
    gap = upper.astype(x.dtype) - lower.astype(x.dtype)
    fraction = jnp.where(gap > 0, (x - lower.astype(x.dtype)) / jnp.where(gap > 0, gap, 1), 0)
    take_upper = jax.random.uniform(key, x.shape, x.dtype) < fraction
    return jnp.where(take_upper, upper, lower)


def _round_leaf(x: jax.Array, dtype: Any, key: jax.Array) -> jax.Array:
    x = jnp.asarray(x)
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(x.dtype, jnp.floating) or jnp.finfo(dtype).bits >= jnp.finfo(x.dtype).bits:
        return x.astype(dtype)
    x = x.astype(jnp.float32)
    if dtype == jnp.bfloat16:
        return _round_bfloat16(x, key)
    rounded = _round_generic(x, dtype, key)
    return jnp.where(jnp.isfinite(x), rounded, x.astype(dtype))


def stochastic_round(tree: Any, dtype: jax.typing.DTypeLike, key: jax.Array) -> Any:
    """Rounds every floating leaf of `tree` to `dtype` stochastically (unbiased).

    Rule: a value `x` between the neighbours `lo < x < hi` of `dtype` becomes
    `hi` with probability `(x - lo) / (hi - lo)` and `lo` otherwise, so
    `E[round(x)] = x`. For bfloat16 this is the bit trick (uniform random bits
    added to the low 16 bits of the float32, then truncated). Leaves already as
    narrow as `dtype` or narrower are cast; non-floating leaves are cast too.

    Args:
      tree: a pytree of arrays.
      dtype: the target dtype (bfloat16, float16, ...).
      key: a `jax.random` key; each leaf gets its own subkey.

    Returns:
      `tree` with floating leaves in `dtype`.

    Reference: Gupta et al., "Deep Learning with Limited Numerical Precision", ICML 2015.
    """
    leaves, treedef = jax.tree.flatten(tree)
    keys = jax.random.split(key, max(len(leaves), 1))
    return jax.tree.unflatten(treedef, [_round_leaf(x, dtype, k) for x, k in zip(leaves, keys)])


def apply_updates_stochastic(params: Params, updates: Updates, key: jax.Array) -> Params:
    """`params + updates`, added in float32 and rounded stochastically back to each param's dtype.

    For low-precision params (bfloat16, float16) this keeps small updates in
    expectation: with round-to-nearest, `1.0 + 1e-4` is `1.0` in bfloat16 every
    time; with stochastic rounding it is the next bfloat16 (`1.0078125`) with
    probability ~1.3%, so the mean over many steps tracks the float32 sum.
    Leaves of float32 or wider are added exactly as `gdx.apply_updates` does.
    `None` params stay `None`.

    Args:
      params: the params.
      updates: updates with the params' structure.
      key: a `jax.random` key (use a fresh one every step).

    Returns:
      The new params, in the params' dtypes.
    """
    leaves, treedef = jax.tree.flatten(params, is_leaf=lambda x: x is None)
    update_leaves = treedef.flatten_up_to(updates)
    keys = jax.random.split(key, max(len(leaves), 1))
    new = []
    for p, u, k in zip(leaves, update_leaves, keys):
        if p is None:
            new.append(None)
            continue
        p = jnp.asarray(p)
        if not jnp.issubdtype(p.dtype, jnp.floating) or jnp.finfo(p.dtype).bits >= 32:
            common = promoted_dtype(p.dtype, jnp.asarray(u).dtype)
            new.append((p.astype(common) + jnp.asarray(u).astype(common)).astype(p.dtype))
            continue
        total = p.astype(jnp.float32) + jnp.asarray(u).astype(jnp.float32)
        new.append(_round_leaf(total, p.dtype, k))
    return jax.tree.unflatten(treedef, new)
