"""ZeRO stage 1: optimizer state sharded over the data-parallel axis (`shard_optimizer_state`)."""

from collections.abc import Sequence
from typing import Any

import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gdx.core import GradientTransformation, GradientTransformationExtraArgs, with_extra_args_support


def zero_partition_spec(shape: Sequence[int], axis: str, axis_size: int) -> PartitionSpec:
    """The ZeRO layout of one leaf: split along its first dimension divisible by `axis_size`.

    `(1024, 512)` over 8 devices -> `P(axis, None)`; `(3, 16)` -> `P(None, axis)`;
    scalars, `(3,)` or `(6, 5)` (no dimension divisible by 8) -> `P()` (replicated).
    """
    for dim, size in enumerate(shape):
        if size > 0 and size % axis_size == 0:
            return PartitionSpec(*([None] * dim), axis)
    return PartitionSpec()


def shard_optimizer_state(
    inner: GradientTransformation,
    mesh: Mesh,
    axis: str = "data",
) -> GradientTransformation:
    """ZeRO-1: each device of `axis` keeps and updates only its slice of the optimizer state.

    For data parallelism under `jax.jit` with params replicated over `axis`
    and the batch sharded along it. The wrapper only places sharding
    constraints; the arithmetic is `inner`'s, so the numbers are the unsharded
    optimizer's (up to the order of floating-point reductions). Per step::

        g_shard    = constrain(g, ZeRO layout)          # the gradient all-reduce may become a reduce-scatter
        p_shard    = constrain(p, ZeRO layout)          # a local slice of the replicated params
        u_shard, s = inner.update(g_shard, s, p_shard)  # s stays in the ZeRO layout
        u          = constrain(u_shard, replicated)     # all-gather

    (On the CPU backend XLA keeps one all-reduce of the gradients and slices
    it locally; the state memory saving is the same.)

    ZeRO layout of a leaf: split along its first dimension whose size is
    divisible by the size of `axis` (`zero_partition_spec`). Leaves without
    such a dimension (scalars such as step counters, odd-sized biases,
    factored statistics) stay replicated, so the state memory per device
    drops by the axis size only for the divisible leaves. Whole-tree
    reductions in `inner` (global-norm clipping, LAMB's trust ratios) still see
    every element: XLA inserts the collectives. The state layout is `inner`'s
    (no wrapper state), so checkpoints are interchangeable with the unsharded
    optimizer's.

    Build the state with `jax.jit(tx.init)(params)` (or `tx.init(params)`:
    the constraints also apply outside `jit`). XLA chooses the layout of
    `jit` outputs freely: jit the training step with
    `out_shardings=(replicated, None, ...)` (or constrain the new params) to
    keep the params replicated. `mesh` axes other than `axis`
    are left replicated. Works with `Auto` mesh axes (sharding constraints) and
    `Explicit` ones (`jax.sharding.reshard`; run under `jax.set_mesh(mesh)`).

    Args:
      inner: the optimizer whose state to shard.
      mesh: the device mesh.
      axis: the data-parallel mesh axis to shard the state over. Default "data".

    Returns:
      A `GradientTransformation` with the state of `inner`.

    Reference: Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training
    Trillion Parameter Models", SC 2020 (stage 1, optimizer state partitioning).
    """
    if not isinstance(mesh, Mesh):
        raise TypeError(f"shard_optimizer_state: mesh must be a jax.sharding.Mesh, got {mesh!r}")
    if axis not in mesh.shape:
        raise ValueError(
            f"shard_optimizer_state: axis {axis!r} is not an axis of the mesh {dict(mesh.shape)}"
        )
    inner = with_extra_args_support(inner)
    axis_size = mesh.shape[axis]
    replicated = NamedSharding(mesh, PartitionSpec())
    # Explicit mesh axes are part of the array types and move with `reshard`; Auto axes take a constraint.
    explicit = dict(zip(mesh.axis_names, mesh.axis_types))[axis] == jax.sharding.AxisType.Explicit
    place = jax.sharding.reshard if explicit else jax.lax.with_sharding_constraint

    def constrain(x):
        return place(x, NamedSharding(mesh, zero_partition_spec(x.shape, axis, axis_size)))

    def sharded(tree: Any) -> Any:
        return jax.tree.map(constrain, tree)

    def init(params):
        return sharded(inner.init(params))

    def update(updates, state, params=None, **extra_args):
        params = None if params is None else sharded(params)
        updates, state = inner.update(sharded(updates), state, params, **extra_args)
        updates = jax.tree.map(lambda u: place(u, replicated), updates)
        return updates, sharded(state)

    return GradientTransformationExtraArgs(init, update)
