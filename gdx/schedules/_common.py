"""Helpers shared by the schedule families: count casting and argument checks."""

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from gdx import _validate


def default_float() -> Any:
    """The dtype jax promotes an integer count to (float32 unless x64 is enabled)."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def float_count(count: Any) -> Any:
    """`count` as a float, the way optax's standard promotion would see it.

    A Python int becomes a Python float (as optax does, to avoid int32
    overflow); an integer array is cast explicitly to the default float dtype,
    which is what implicit promotion with a Python float gives in optax but is
    an error under strict promotion.
    """
    if isinstance(count, int) and not isinstance(count, bool):
        return float(count)
    if isinstance(count, float):
        return count
    count = jnp.asarray(count)
    if not jnp.issubdtype(count.dtype, jnp.inexact):
        count = count.astype(default_float())
    return count


def fail(who: str, name: str, value: Any, allowed: str) -> None:
    """Raises `ValueError("<who>: <name> must be <allowed>, got <value>")` (the `_validate` format)."""
    raise ValueError(f"{who}: {name} must be {allowed}, got {value!r}")


def concrete(value: Any) -> float | None:
    """`value` as a Python float if it is concrete (not traced), else `None`.

    Decisions on arguments are taken on this float, at construction: a comparison
    of even a concrete jax array inside a `jit` trace is staged and cannot be
    turned into a Python bool.
    """
    return _validate.concrete_number(value)


def boundaries_and_scales(who: str, boundaries_and_scales: Mapping[Any, Any] | None) -> dict[Any, Any]:
    """Checks `{step: scale}`: steps are integers >= 0, scales finite and >= 0.

    Returns the mapping (an empty dict for `None`).
    """
    if boundaries_and_scales is None:
        return {}
    if not isinstance(boundaries_and_scales, Mapping):
        raise TypeError(
            f"{who}: boundaries_and_scales must be a dict {{step: scale}}, got {boundaries_and_scales!r}"
        )
    for step, scale in boundaries_and_scales.items():
        number = _validate.concrete_number(step)
        if number is not None and (not number.is_integer() or number < 0):
            fail(who, "boundaries_and_scales keys", step, "integers >= 0 (step counts)")
        number = _validate.concrete_number(scale)
        if number is not None and not (number >= 0 and number != float("inf")):
            fail(who, f"boundaries_and_scales[{step!r}]", scale, "a finite scale >= 0")
    return dict(boundaries_and_scales)
