"""Gradient averaging over a named device axis (`average_gradients`)."""

from collections.abc import Hashable, Sequence
from typing import Any

import jax

from gdx.core import EmptyState, GradientTransformation, GradientTransformationExtraArgs


def _check_axis_name(axis_name: Any) -> None:
    names = axis_name if isinstance(axis_name, tuple) else (axis_name,)
    if not names or not all(isinstance(name, Hashable) and name is not None for name in names):
        raise TypeError(
            "average_gradients: axis_name must be a named axis (e.g. 'batch', as passed to "
            "jax.pmap(..., axis_name=...) or a mesh axis of jax.shard_map) or a tuple of them, "
            f"got {axis_name!r}"
        )


def average_gradients(
    axis_name: Hashable | tuple[Hashable, ...],
    *,
    axis_index_groups: Sequence[Sequence[int]] | None = None,
) -> GradientTransformation:
    """Averages the updates over the devices of a named axis (data parallelism).

    Update rule, leaf by leaf: `u <- lax.pmean(u, axis_name)`, i.e. with `n`
    devices each holding the gradient `g_i` of its batch shard,
    `u <- (g_1 + ... + g_n) / n`. When each device's loss is the mean over an
    equally sized shard, this is the gradient of the mean loss over the full
    batch, so `chain(average_gradients('batch'), tx)` under `jax.pmap` takes
    the same step as `tx` on the full batch on one device, and every device
    ends with the same params and state.

    Put it at the head of the chain: transformations that are not linear in
    the gradient (clipping, Adam's second moment) must see the averaged
    gradient. Use it only where `axis_name` is bound: inside `jax.pmap(...,
    axis_name=...)` or a `jax.shard_map` over a mesh with that axis. Under a
    plain `jax.jit` with sharded arrays no averaging is needed (the gradient
    of a global mean loss is already the full-batch gradient), and
    `lax.pmean` raises an unbound-axis error there.

    Inside `jax.shard_map` (with its default `check_vma=True`), `jax.grad` with
    respect to replicated params already returns the *sum* of the per-shard
    gradients; differentiate `jax.lax.pcast(params, axis_name, to="varying")`
    to get this shard's gradient, which `average_gradients` then averages.
    Only the updates are averaged: extra arguments that a transformation
    reads (`value=`, `grad=`, `value_fn=` of a linesearch) must already be the
    full-batch ones (e.g. `lax.pmean` them).

    Args:
      axis_name: the named axis (or tuple of axes) to average over.
      axis_index_groups: optional groups of axis indices to average within
        (as `lax.pmean`); `None` (default) averages over the whole axis.

    Returns:
      A stateless `GradientTransformation` (state `EmptyState()`).

    Reference: the synchronous data-parallel SGD of Dean et al., "Large Scale
    Distributed Deep Networks", NeurIPS 2012; Goyal et al., "Accurate, Large
    Minibatch SGD: Training ImageNet in 1 Hour", 2017.
    """
    _check_axis_name(axis_name)

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.lax.pmean(updates, axis_name, axis_index_groups=axis_index_groups), state

    return GradientTransformationExtraArgs(init, update)
