"""Optimizing complex params as pairs of real ones (`split_real_and_imaginary`)."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx.core import GradientTransformation, GradientTransformationExtraArgs, with_extra_args_support


class SplitRealAndImaginaryArrays(NamedTuple):
    """The real and imaginary parts of one complex leaf, as two real arrays."""

    real: Any
    imaginary: Any


class SplitRealAndImaginaryState(NamedTuple):
    """State of `split_real_and_imaginary`: the inner transformation's state (on the split tree)."""

    inner_state: Any


def _complex_to_real_pair(x: Any) -> Any:
    if x is not None and jnp.iscomplexobj(x):
        return SplitRealAndImaginaryArrays(jnp.real(x), jnp.imag(x))
    return x


def _real_pair_to_complex(x: Any) -> Any:
    if isinstance(x, SplitRealAndImaginaryArrays):
        return jax.lax.complex(x.real, x.imaginary)
    return x


def _is_pair(x: Any) -> bool:
    return isinstance(x, SplitRealAndImaginaryArrays)


def split_real_and_imaginary(inner: GradientTransformation) -> GradientTransformation:
    """Runs `inner` on the real and imaginary parts of complex leaves as separate real leaves.

    Update rule: each complex leaf `z` becomes the pair `(Re z, Im z)`; `inner`
    transforms the split tree (params split the same way); each pair of updates
    `(a, b)` comes back as `a + i b`. Real leaves pass through unchanged, so an
    Adam-like `inner` keeps separate second moments for the real and imaginary
    parts (instead of one for `|z|**2`). As in optax, conjugate the gradients of
    a real loss (`jnp.conj(jax.grad(loss)(params))`) before `update`.
    Extra arguments (`value=`, ...) are forwarded to `inner`.

    Args:
      inner: the transformation to run on the real-valued split tree.

    Returns:
      A `GradientTransformation` with state `SplitRealAndImaginaryState(inner_state)`.

    Reference: optax issue #196 (complex-valued optimization).
    """
    inner = with_extra_args_support(inner)

    def init(params):
        return SplitRealAndImaginaryState(inner.init(jax.tree.map(_complex_to_real_pair, params)))

    def update(updates, state, params=None, **extra_args):
        split_updates = jax.tree.map(_complex_to_real_pair, updates)
        split_params = None if params is None else jax.tree.map(_complex_to_real_pair, params)
        new_updates, inner_state = inner.update(split_updates, state.inner_state, split_params, **extra_args)
        merged = jax.tree.map(_real_pair_to_complex, new_updates, is_leaf=_is_pair)
        return merged, SplitRealAndImaginaryState(inner_state)

    return GradientTransformationExtraArgs(init, update)
