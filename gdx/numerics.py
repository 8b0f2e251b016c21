"""Norms with a floor and a finite gradient at zero: `safe_norm`, `safe_root_mean_squares`.

`jnp.maximum(jnp.linalg.norm(x), min_norm)` has a NaN gradient at `x = 0`
(the gradient of the norm is evaluated there even though the maximum picks
`min_norm`). These functions feed the norm a harmless input where the floor
wins, so the gradient is 0 there. Operation for operation as optax's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gdx import _tree
from gdx._tree import promote, promoted


def _floored(value: jax.Array, recomputed: jax.Array, floor: jax.typing.ArrayLike) -> jax.Array:
    # where(value <= floor, floor, recomputed), each operation promoted as optax's standard promotion.
    return jnp.where(promoted(jnp.less_equal, value, floor), *promote(floor, recomputed))


def safe_norm(
    x: jax.typing.ArrayLike,
    min_norm: jax.typing.ArrayLike,
    ord: int | float | str | None = None,
    axis: None | tuple[int, ...] | int = None,
    keepdims: bool = False,
) -> jax.Array:
    """`max(norm(x), min_norm)`, with gradient 0 (not NaN) where the floor wins.

    Rule::

        n = norm(x, ord, axis)
        safe_norm = min_norm                              where n <= min_norm
                    norm(x with those entries set to 1)   elsewhere

    Args:
      x: an array.
      min_norm: the floor, >= 0.
      ord: order of the norm, as `jnp.linalg.norm` (None: 2-norm of a vector,
        Frobenius of a matrix; also non-zero ints, `inf`, `-inf`, 'fro', 'nuc').
      axis: None (the whole array), an int (vector norms along it) or a pair of
        ints (matrix norms over them), as `jnp.linalg.norm`. Default None.
      keepdims: keep the normed axes with size 1. Default False.

    Returns:
      The floored norm.
    """
    x = jnp.asarray(x)
    norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=True)
    x = jnp.where(promoted(jnp.less_equal, norm, min_norm), jnp.ones_like(x), x)
    norm = norm if keepdims else jnp.squeeze(norm, axis=axis)
    masked_norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    return _floored(norm, masked_norm, min_norm)


def safe_root_mean_squares(x: jax.typing.ArrayLike, min_rms: jax.typing.ArrayLike) -> jax.Array:
    """`max(sqrt(mean(|x|**2)), min_rms)`, with gradient 0 (not NaN) where the floor wins.

    Args:
      x: an array (real or complex).
      min_rms: the floor, >= 0.

    Returns:
      The floored root mean square of all entries of `x`.
    """
    x = jnp.asarray(x)
    rms = jnp.sqrt(jnp.mean(_tree.abs_sq(x)))
    x = jnp.where(promoted(jnp.less_equal, rms, min_rms), jnp.ones_like(x), x)
    return _floored(rms, jnp.sqrt(jnp.mean(_tree.abs_sq(x))), min_rms)
