"""Scaling the gradient that flows back through a value, leaving the value itself unchanged."""

from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted


@jax.custom_vjp
def _scale_gradient(inputs: Any, scale: Any) -> Any:
    del scale  # used only by the backward pass
    return inputs


def _scale_gradient_forward(inputs: Any, scale: Any) -> tuple[Any, Any]:
    return _scale_gradient(inputs, scale), scale


def _scale_gradient_backward(scale: Any, cotangents: Any) -> tuple[Any, None]:
    # The cotangent keeps its primal's dtype (a float32 `scale` does not widen a bfloat16 gradient).
    return jax.tree.map(lambda g: promoted(jnp.multiply, g, scale).astype(g.dtype), cotangents), None


_scale_gradient.defvjp(_scale_gradient_forward, _scale_gradient_backward)


def scale_gradient(inputs: Any, scale: jax.typing.ArrayLike) -> Any:
    """Returns `inputs` unchanged, with their gradient multiplied by `scale` in the backward pass.

    Rule: `f(x) = x`, `df/dx = scale`. A concrete `scale` of 1 returns `inputs`
    as they are; 0 is `jax.lax.stop_gradient(inputs)`.

    Args:
      inputs: a pytree of arrays.
      scale: the factor applied to the gradient, a finite number (or a traced value).

    Returns:
      `inputs`, with the structure and values unchanged.
    """
    checks.finite("scale_gradient", "scale", scale)
    number = checks.concrete_number(scale)
    if number == 1.0:
        return inputs
    if number == 0.0:
        return jax.lax.stop_gradient(inputs)
    return _scale_gradient(inputs, scale)
