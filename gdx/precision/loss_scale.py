"""Loss scaling for float16 training: `DynamicLossScale`, `all_finite`, `skip_nonfinite`."""

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx.core import GradientTransformation
from gdx.wrappers import conditional
from gdx.wrappers.conditional import apply_if_finite


def all_finite(tree: Any) -> jax.Array:
    """A bool scalar: True if no leaf of `tree` holds a NaN or an infinity (True for an empty tree).

    The same test `apply_if_finite` (and so `skip_nonfinite`) applies to the updates.
    """
    return conditional.all_finite(tree)


def _scale_leaf(x: Any, factor: jax.Array) -> Any:
    if not jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating):
        return x
    return (x.astype(jnp.float32) * factor).astype(x.dtype)


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["loss_scale", "counter"],
    meta_fields=["period", "factor", "min_loss_scale"],
)
@dataclasses.dataclass(frozen=True)
class DynamicLossScale:
    """A loss scale that grows while gradients stay finite and shrinks when they overflow.

    A pytree (as `jmp.DynamicLossScale`): `loss_scale` (float32 scalar) and
    `counter` (int32 scalar) are its leaves, so it can be carried through `jit`,
    `lax.scan` and checkpoints; `period`, `factor` and `min_loss_scale` are
    static. Update rule of `adjust(grads_finite)`::

        finite:      counter <- counter + 1; if counter == period: loss_scale *= factor, counter <- 0
        non-finite:  loss_scale <- max(min_loss_scale, loss_scale / factor), counter <- 0

    Typical float16 step::

        grads = jax.grad(lambda p: loss_scale.scale(loss_fn(p)))(params)
        grads = loss_scale.unscale(grads)
        finite = gdx.precision.all_finite(grads)
        loss_scale = loss_scale.adjust(finite)
        updates, opt_state = tx.update(grads, opt_state, params)  # tx = skip_nonfinite(...)

    Attributes:
      loss_scale: the current scale, float32 scalar (e.g. `2.0**15`).
      counter: int32 consecutive finite steps since the last change.
      period: finite steps before the scale grows, int >= 1. Default 2000.
      factor: growth and shrink factor, > 1. Default 2.
      min_loss_scale: the scale never drops below this, > 0. Default 1.

    Reference: Micikevicius et al., "Mixed Precision Training", ICLR 2018.
    """

    loss_scale: jax.Array | float
    counter: jax.Array = dataclasses.field(default_factory=lambda: jnp.zeros([], jnp.int32))
    period: int = 2000
    factor: float = 2.0
    min_loss_scale: float = 1.0

    def __post_init__(self):
        # Unflattening under jit passes tracers (or placeholders): only check concrete constructions.
        if isinstance(self.loss_scale, int | float):
            checks.positive("DynamicLossScale", "loss_scale", self.loss_scale)
            object.__setattr__(self, "loss_scale", jnp.asarray(self.loss_scale, jnp.float32))
        if isinstance(self.period, int):
            checks.positive_int("DynamicLossScale", "period", self.period)
        if isinstance(self.factor, int | float):
            checks._in_range("DynamicLossScale", "factor", self.factor, lambda v: v > 1, "> 1")
        if isinstance(self.min_loss_scale, int | float):
            checks.positive("DynamicLossScale", "min_loss_scale", self.min_loss_scale)

    def scale(self, tree: Any) -> Any:
        """`tree * loss_scale`, each floating leaf keeping its dtype (the product is taken in float32)."""
        return jax.tree.map(lambda x: _scale_leaf(x, jnp.asarray(self.loss_scale)), tree)

    def unscale(self, tree: Any) -> Any:
        """`tree / loss_scale`, each floating leaf keeping its dtype (the division is taken in float32)."""
        inverse = jnp.float32(1.0) / jnp.asarray(self.loss_scale)
        return jax.tree.map(lambda x: _scale_leaf(x, inverse), tree)

    def adjust(self, grads_finite: jax.typing.ArrayLike) -> "DynamicLossScale":
        """The next loss scale: grows after `period` finite steps, shrinks after a non-finite one."""
        grads_finite = jnp.asarray(grads_finite)
        one = jnp.ones([], jnp.int32)
        counter = self.counter + one
        grow = counter >= jnp.asarray(self.period, jnp.int32)
        grown = jnp.where(grow, self.loss_scale * jnp.float32(self.factor), self.loss_scale)
        shrunk = jnp.maximum(jnp.float32(self.min_loss_scale), self.loss_scale / jnp.float32(self.factor))
        loss_scale = jnp.where(grads_finite, grown, shrunk)
        counter = jnp.where(jnp.logical_and(grads_finite, jnp.logical_not(grow)), counter, 0 * one)
        return dataclasses.replace(self, loss_scale=loss_scale, counter=counter)


def skip_nonfinite(inner: GradientTransformation, max_consecutive_errors: int = 2**31 - 1):
    """Skips every step whose gradients hold a NaN or an inf: zero updates, inner state untouched.

    A thin alias of `gdx.apply_if_finite(inner, max_consecutive_errors)`, which
    already does exactly this (`lax.cond`: on a non-finite step the updates are
    zero and the inner state is returned as it was, so `apply_updates` leaves
    the params unchanged). The default never gives up, as loss scaling wants:
    the loss scale shrinks until the gradients are finite again.

    Args:
      inner: the optimizer to protect.
      max_consecutive_errors: after more than this many non-finite steps in a
        row the step is taken anyway (as `apply_if_finite`). Default 2**31 - 1.

    Returns:
      `apply_if_finite(inner, max_consecutive_errors)`, with state `ApplyIfFiniteState`.
    """
    return apply_if_finite(inner, max_consecutive_errors)
