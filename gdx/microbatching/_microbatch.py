"""Evaluate a function over micro-batches in a sequential loop and accumulate the results.

As `optax.microbatching` (optax 0.2.8): the same names, signatures, defaults,
batch split (column-major, so a sharded batch axis stays sharded) and loop,
so results are bit-identical to optax's.
"""

import collections
import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from gdx._common.dtypes import explicit_sharding
from gdx.microbatching._accumulators import (
    AccumulationType,
    Accumulator,
    canonicalize,
    check_accumulator_tree,
)

Function = Callable[..., Any]
VmapFn = Callable[[Function, Any, Any], Function]

# optax's per-example outputs of `micro_grad` (the namedtuple is called 'Aux' there too).
IndividualOutputs = collections.namedtuple("Aux", ["values", "metrics", "aux"])


def reshape_batch_axis(tree: Any, microbatch_size: int, axis: int = 0) -> Any:
    """Splits the batch axis of every leaf into `(num_microbatches, microbatch_size)`.

    Rule, per leaf of shape `(..., B, ...)` with the batch axis at `axis`::

        x.reshape(x.shape[:axis] + (B // microbatch_size, microbatch_size)
                  + x.shape[axis + 1:], order='F')

    Column-major order puts rows `i, i + n, i + 2n, ...` (`n` micro-batches) in
    micro-batch `i`, so a sharding of the batch axis carries over to the new
    `microbatch_size` axis and the micro-batch axis is replicated.

    Args:
      tree: a pytree of arrays, each with a batch axis at `axis`.
      microbatch_size: the number of rows per micro-batch, an integer >= 1 that
        divides the batch size.
      axis: the batch axis of every leaf. Default 0.

    Returns:
      The pytree with each leaf reshaped; leaf ndim grows by one.

    Raises:
      ValueError: under an explicit-axes mesh, if the number of shards of the
        batch axis does not divide `microbatch_size`.
    """

    def reshape_leaf(x: Any) -> Any:
        new_shape = x.shape[:axis] + (-1, microbatch_size) + x.shape[axis + 1 :]
        sharding = explicit_sharding(x)
        if sharding is None:
            return x.reshape(new_shape, order="F")
        spec = sharding.spec
        if len(spec) < axis:  # the batch axis is not sharded
            new_spec = spec
        else:
            new_spec = jax.sharding.PartitionSpec(*spec[:axis], None, spec[axis], *spec[axis + 1 :])
        num_shards = x.shape[axis] // sharding.shard_shape(x.shape)[axis]
        if microbatch_size % num_shards != 0:
            raise ValueError(f"{num_shards=} must evenly divide {microbatch_size=}.")
        out_sharding = jax.sharding.NamedSharding(sharding.mesh, new_spec)
        return x.reshape(new_shape, order="F", out_sharding=out_sharding)

    return jax.tree.map(reshape_leaf, tree)


def _check_microbatch_size(who: str, microbatch_size: Any) -> None:
    if microbatch_size is None:
        return
    try:
        size = operator.index(microbatch_size)
    except TypeError:
        raise TypeError(
            f"{who}: microbatch_size must be an integer >= 1 or None, got {microbatch_size!r}"
        ) from None
    if size < 1:
        raise ValueError(f"{who}: microbatch_size must be an integer >= 1 or None, got {microbatch_size!r}")


def _reshape_batch_args(
    microbatch_size: int,
    argnums: Sequence[int],
    argnames: Sequence[str],
    in_axes: Sequence[int],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[tuple[Any, ...], dict[str, Any], int]:
    """Gives every batch argument a micro-batch axis; returns them and the batch size."""
    batch_args = [args[i] for i in argnums] + [kwargs[name] for name in argnames]
    sizes = jax.tree.leaves(
        jax.tree.map(
            lambda ax, subtree: jax.tree.map(lambda x: x.shape[ax], subtree),
            tuple(in_axes),
            tuple(batch_args),
        )
    )
    if len(set(sizes)) > 1:
        raise ValueError(f"Batch Arguments must have equal-size batch axes, found {sizes}.")
    batch_size = sizes[0]
    if batch_size % microbatch_size != 0:
        raise ValueError(f"{batch_size=} must be divisible by {microbatch_size=}.")
    new_args = list(args)
    new_kwargs = dict(kwargs)
    for i, ax in zip(argnums, in_axes):
        new_args[i] = reshape_batch_axis(args[i], microbatch_size, ax)
    for name, ax in zip(argnames, in_axes[len(argnums) :]):
        new_kwargs[name] = reshape_batch_axis(kwargs[name], microbatch_size, ax)
    return tuple(new_args), new_kwargs, batch_size


def microbatch(
    fun: Function,
    argnums: int | Sequence[int],
    microbatch_size: int | None,
    accumulator: Accumulator | AccumulationType | Any = AccumulationType.SUM,
    *,
    argnames: str | Sequence[str] = (),
    in_axes: int | Sequence[int] = 0,
    num_real_microbatches: int | jax.Array | None = None,
) -> Function:
    """Evaluates `fun` on micro-batches of its batch arguments, one after another, and accumulates.

    Rule (for `accumulator=SUM`; `n = batch_size // microbatch_size`)::

        batch_i = rows i, i + n, i + 2n, ... of each batch argument
        carry = 0
        for i in range(n):          # a lax.fori_loop: sequential, one micro-batch in memory
            carry = carry + fun(batch_i)
        return carry

    MEAN divides the sum by `n`; RUNNING_MEAN keeps a running mean of the
    micro-batches actually run; CONCAT stacks the outputs back into batch
    order. Use it when `fun` on the whole batch does not fit in device memory
    (gradient accumulation: `microbatch(jax.grad(loss), argnums=1, ...)`).

    Args:
      fun: any function.
      argnums: the positional argument index (or indices) that have a batch axis.
      microbatch_size: rows per micro-batch, an integer >= 1 that divides the
        batch size; `None` returns `fun` unchanged.
      accumulator: how to combine the micro-batch outputs: an `Accumulator`, an
        `AccumulationType`, or a pytree (a prefix of `fun`'s output) of them.
        Default `AccumulationType.SUM`. MEAN and RUNNING_MEAN need floating outputs.
      argnames: keyword argument name(s) that have a batch axis. Default `()`.
      in_axes: the batch axis of each argument in `argnums + argnames`, one int
        for all or one per argument. Default 0.
      num_real_microbatches: if given (an int or a traced integer), only the
        first that many micro-batches are run; varying batch sizes then need no
        recompilation. Default `None` (run all).

    Returns:
      A function with `fun`'s arguments that evaluates `fun` `n` times on
      micro-batches and returns the accumulated result.

    Raises:
      ValueError: at call time, if the batch axes differ in size or
        `microbatch_size` does not divide the batch size.

    References:
      optax 0.2.8, `optax.microbatching.microbatch`.
    """
    who = "microbatch"
    _check_microbatch_size(who, microbatch_size)
    check_accumulator_tree(who, accumulator)
    if microbatch_size is None:
        return fun
    argnums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    argnames = (argnames,) if isinstance(argnames, str) else tuple(argnames)
    in_axes = (in_axes,) * (len(argnums) + len(argnames)) if isinstance(in_axes, int) else tuple(in_axes)
    if len(in_axes) != len(argnums) + len(argnames):
        raise ValueError(
            f"{who}: in_axes must have one entry per batch argument (argnums + argnames: "
            f"{len(argnums) + len(argnames)}), got {in_axes!r}"
        )

    def microbatched_fun(*args: Any, **kwargs: Any) -> Any:
        reshaped_args, reshaped_kwargs, batch_size = _reshape_batch_args(
            microbatch_size, argnums, argnames, in_axes, args, kwargs
        )
        num_microbatches = batch_size // microbatch_size
        combine = canonicalize(accumulator, num_microbatches)

        def on_microbatch(index: Any) -> Any:
            input_args = list(reshaped_args)
            input_kwargs = dict(reshaped_kwargs)
            for i, ax in zip(argnums, in_axes):
                input_args[i] = jax.tree.map(
                    functools.partial(jnp.take, indices=index, axis=ax), input_args[i]
                )
            for name, ax in zip(argnames, in_axes[len(argnums) :]):
                input_kwargs[name] = jax.tree.map(
                    functools.partial(jnp.take, indices=index, axis=ax), input_kwargs[name]
                )
            return fun(*input_args, **input_kwargs)

        def body(index: Any, carry: Any) -> Any:
            return combine.update(carry, on_microbatch(index), index)

        upper = num_microbatches if num_real_microbatches is None else num_real_microbatches
        carry = combine.init(jax.eval_shape(on_microbatch, 0))
        return combine.finalize(jax.lax.fori_loop(0, upper, body, carry))

    return microbatched_fun


def micro_vmap(
    fun: Function,
    in_axes: int | Sequence[int | None] = 0,
    out_axes: Any = 0,
    *,
    microbatch_size: int | None = None,
    vmap_fn: VmapFn = jax.vmap,
    accumulator: Accumulator | AccumulationType | Any = AccumulationType.CONCAT,
    num_real_microbatches: int | jax.Array | None = None,
) -> Function:
    """`jax.vmap` over a batch axis too large for memory: vmaps `fun` one micro-batch at a time.

    Rule: the batch is split as in `microbatch`; on each micro-batch
    `vmap_fn(fun, in_axes, 0)` runs and its outputs are reduced by the
    accumulator's `aggregate` (nothing for CONCAT, a sum for SUM, a mean for
    MEAN); the micro-batch results are then combined by the accumulator. With
    the default CONCAT, the result equals `jax.vmap(fun, in_axes)(...)`.
    Keyword arguments are all mapped along axis 0, as in `jax.vmap`.

    Args:
      fun: the function to map.
      in_axes: the mapped axis of each positional argument (`None`: not
        mapped), or one int for all. Default 0.
      out_axes: must be 0 (other values raise `NotImplementedError`, as in optax).
      microbatch_size: rows per micro-batch (an integer >= 1 dividing the batch
        size); `None` (default) maps the whole batch at once.
      vmap_fn: a function with `jax.vmap`'s signature. Default `jax.vmap`.
      accumulator: how per-example outputs are combined; default
        `AccumulationType.CONCAT` (keep the batch axis). A pytree prefix of the
        outputs applies different rules to different outputs.
      num_real_microbatches: run only the first that many micro-batches.
        Default `None` (all).

    Returns:
      The mapped function, with `fun`'s arguments (each with the extra batch axis).

    References:
      optax 0.2.8, `optax.microbatching.micro_vmap`.
    """
    if out_axes != 0:
        raise NotImplementedError("out_axis != 0 is not currently supported")
    who = "micro_vmap"
    _check_microbatch_size(who, microbatch_size)
    check_accumulator_tree(who, accumulator)
    in_axes = (in_axes,) if isinstance(in_axes, int) else tuple(in_axes)

    # vmap maps every keyword argument along axis 0, so the keyword arguments
    # travel as one dict keyword argument `kwargs` with batch axis 0.
    def vmap_and_aggregate(*args: Any, kwargs: dict[str, Any]) -> Any:
        output = vmap_fn(fun, in_axes, out_axes)(*args, **kwargs)
        rows = jax.tree.leaves(output)[0].shape[0]
        # Only `aggregate` is used, which does not depend on the number of micro-batches.
        return canonicalize(accumulator, rows).aggregate(output)

    mapped = microbatch(
        vmap_and_aggregate,
        argnums=tuple(i for i, ax in enumerate(in_axes) if ax is not None),
        argnames="kwargs",
        microbatch_size=microbatch_size,
        accumulator=accumulator,
        in_axes=tuple(ax for ax in in_axes if ax is not None) + (0,),
        num_real_microbatches=num_real_microbatches,
    )

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return mapped(*args, kwargs=kwargs)

    return wrapped


def _identity(tree: Any) -> Any:
    return tree


def _no_metrics(tree: Any) -> None:
    del tree


def _with_extra_batch_axis(fun: Function, batch_argnums: Sequence[int]) -> Function:
    """`fun` with a size-1 axis inserted at position 1 of every batch argument's leaves."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        expanded = list(args)
        for i in batch_argnums:
            expanded[i] = jax.tree.map(lambda x: jnp.expand_dims(x, axis=1), args[i])
        return fun(*expanded, **kwargs)

    return wrapped


def micro_grad(
    fun: Function,
    has_aux: bool = False,
    argnums: int | Sequence[int] = 0,
    *,
    batch_argnums: int | Sequence[int] = 1,
    keep_batch_dim: bool = True,
    microbatch_size: int | None = None,
    accumulator: Accumulator | AccumulationType | Any = AccumulationType.SUM,
    transform_fn: Callable[[Any], Any] = _identity,
    metrics_fn: Callable[[Any], Any] = _no_metrics,
    num_real_microbatches: int | jax.Array | None = None,
) -> Callable[..., tuple[Any, Any]]:
    """Per-example gradients, transformed and accumulated over the batch, in micro-batches.

    Rule, for each example `e` of the batch (the arguments in `batch_argnums`)::

        value_e, grad_e = jax.value_and_grad(fun, argnums)(..., example e, ...)
        result = accumulate_e transform_fn(grad_e)        # SUM by default
        aux = (values=[value_e], metrics=[metrics_fn(grad_e)], aux=[fun's aux_e])

    computed as `micro_vmap` over the batch, `microbatch_size` examples at a
    time. Useful to clip per-example gradients (DP-SGD), to accumulate their
    second moments, or to log per-example gradient norms.

    Args:
      fun: the loss, `fun(params, batch, ...)` by default.
      has_aux: whether `fun` returns `(value, aux)`. Default False.
      argnums: the argument(s) to differentiate. Default 0.
      batch_argnums: the argument(s) with a batch axis (axis 0). Default 1.
      keep_batch_dim: if True (default), `fun` sees each example with a batch
        axis of size 1; if False, without a batch axis.
      microbatch_size: examples per micro-batch; `None` (default) all at once.
      accumulator: how the transformed gradients are combined over the batch.
        Default `AccumulationType.SUM`.
      transform_fn: applied to each per-example gradient before accumulation.
        Default identity.
      metrics_fn: applied to each per-example gradient; its results are
        returned per example in `aux.metrics`. Default: no metrics (`None`).
      num_real_microbatches: run only the first that many micro-batches.
        Default `None` (all).

    Returns:
      A function with `fun`'s arguments returning `(result, aux)`, where `aux`
      is a namedtuple `(values, metrics, aux)` of per-example outputs.

    References:
      optax 0.2.8, `optax.microbatching.micro_grad`; per-example gradient
      transformations as in https://arxiv.org/abs/2510.00236.
    """
    who = "micro_grad"
    _check_microbatch_size(who, microbatch_size)
    check_accumulator_tree(who, accumulator)
    batch_argnums = (batch_argnums,) if isinstance(batch_argnums, int) else tuple(batch_argnums)
    fun_with_aux = fun if has_aux else (lambda *args, **kwargs: (fun(*args, **kwargs), None))
    value_and_grad = jax.value_and_grad(fun_with_aux, argnums, has_aux=True)

    def per_example(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        (value, aux), grad = value_and_grad(*args, **kwargs)
        return transform_fn(grad), IndividualOutputs(values=value, metrics=metrics_fn(grad), aux=aux)

    in_axes: list[int | None] = [None] * (max(batch_argnums) + 1)
    for i in batch_argnums:
        in_axes[i] = 0
    mapped = micro_vmap(
        per_example,
        in_axes=in_axes,
        accumulator=(accumulator, AccumulationType.CONCAT),
        microbatch_size=microbatch_size,
        num_real_microbatches=num_real_microbatches,
    )
    if keep_batch_dim:
        mapped = _with_extra_batch_axis(mapped, batch_argnums)
    return mapped
