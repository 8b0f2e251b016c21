"""How the outputs of the micro-batches are combined: `Accumulator` and `AccumulationType`.

The built-in rules do optax 0.2.8's arithmetic operation for operation (the
same sums in the same order), written to run under strict dtype promotion.
"""

import dataclasses
import enum
import functools
import operator
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gdx._common.dtypes import explicit_sharding, promoted


@dataclasses.dataclass(frozen=True)
class Accumulator:
    """How to fold the evaluations of a function on micro-batches into one result.

    Given the evaluations `[x_0, ..., x_{n-1}]` on the `n` micro-batches, an
    accumulator stands for the program::

        carry = init(jax.eval_shape of x_0)
        for i in range(n):
            carry = update(carry, x_i, i)
        return finalize(carry)

    Attributes:
      init: `f(shape_dtype_struct) -> carry`, the initial carry built from the
        shape and dtype of one micro-batch evaluation.
      update: `f(carry, value, index) -> carry`, folds in the evaluation on
        micro-batch `index`.
      finalize: `f(carry) -> result`, the final result from the last carry.
      aggregate: `f(per_example_values) -> value`, reduces values that carry a
        leading batch axis to one value (used by `micro_vmap` inside each
        micro-batch).
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], Any]
    finalize: Callable[[Any], Any]
    aggregate: Callable[[Any], Any]


class AccumulationType(enum.Enum):
    """The built-in ways to combine micro-batch outputs."""

    MEAN = enum.auto()
    """Average the micro-batch outputs (the sum divided by the number of micro-batches)."""
    SUM = enum.auto()
    """Sum the micro-batch outputs."""
    RUNNING_MEAN = enum.auto()
    """Average over the micro-batches actually run (`num_real_microbatches`), as a running mean."""
    CONCAT = enum.auto()
    """Concatenate the micro-batch outputs along axis 0 (in the original batch order)."""


def _require_floating(fn: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        dtypes = jax.tree.leaves(jax.tree.map(lambda x: x.dtype, (args, kwargs)))
        if not all(jnp.issubdtype(dtype, jnp.floating) for dtype in dtypes):
            # optax's message, so code matching on it keeps working.
            raise ValueError("MEAN and RUNNING_MEAN Accumulators require floating-point values.")
        return fn(*args, **kwargs)

    return checked


def _per_leaf(accumulator: Accumulator) -> Accumulator:
    """An accumulator of arrays applied leaf by leaf to a pytree of outputs."""
    return Accumulator(
        lambda value: jax.tree.map(accumulator.init, value),
        lambda carry, value, i: jax.tree.map(lambda c, v: accumulator.update(c, v, i), carry, value),
        lambda carry: jax.tree.map(accumulator.finalize, carry),
        lambda values: jax.tree.map(accumulator.aggregate, values),
    )


def _compose(accumulators: Any) -> Accumulator:
    """One accumulator from a pytree (a prefix of the outputs) of accumulators."""

    def init(values: Any) -> Any:
        return jax.tree.map(lambda acc, val: acc.init(val), accumulators, values)

    def update(carry: Any, value: Any, index: Any) -> Any:
        return jax.tree.map(lambda acc, c, v: acc.update(c, v, index), accumulators, carry, value)

    def finalize(carry: Any) -> Any:
        return jax.tree.map(lambda acc, c: acc.finalize(c), accumulators, carry)

    def aggregate(values: Any) -> Any:
        return jax.tree.map(lambda acc, v: acc.aggregate(v), accumulators, values)

    return Accumulator(init, update, finalize, aggregate)


def _sum() -> Accumulator:
    return _per_leaf(
        Accumulator(
            init=jnp.zeros_like,
            update=lambda carry, value, _: carry + value,
            finalize=lambda carry: carry,
            aggregate=functools.partial(jnp.sum, axis=0),
        )
    )


def _positive_count(num_microbatches: int) -> None:
    if num_microbatches <= 0:
        raise ValueError(f"{num_microbatches=} must be positive.")


def _mean(num_microbatches: int) -> Accumulator:
    _positive_count(num_microbatches)
    return _per_leaf(
        Accumulator(
            init=_require_floating(jnp.zeros_like),
            update=lambda carry, value, _: carry + value,
            finalize=lambda carry: carry / num_microbatches,
            aggregate=functools.partial(jnp.mean, axis=0),
        )
    )


def _running_mean_update(carry: jax.Array, value: jax.Array, index: Any) -> jax.Array:
    # carry * i/(i+1) + value * (1 - i/(i+1)), each product promoted as optax's standard
    # promotion promotes it (the loop index is weakly typed, so a bfloat16 carry stays
    # bfloat16 as in optax). Where optax's loop would fail on a changed carry dtype (a
    # traced `num_real_microbatches`), the result is cast back to the carry's dtype.
    index = jnp.asarray(index)
    weight = index / (index + 1)
    one_minus_weight = 1 - weight
    kept = promoted(operator.mul, carry, weight)
    added = promoted(operator.mul, value, one_minus_weight)
    return promoted(operator.add, kept, added).astype(carry.dtype)


def _running_mean() -> Accumulator:
    return _per_leaf(
        Accumulator(
            init=_require_floating(jnp.zeros_like),
            update=_running_mean_update,
            finalize=lambda carry: carry,
            aggregate=functools.partial(jnp.mean, axis=0),
        )
    )


def _replicated_first_axis(carry: jax.Array) -> dict[str, Any]:
    """`out_sharding=` of the concat reshape under an explicit-axes mesh (drops the micro-batch axis)."""
    sharding = explicit_sharding(carry)
    if sharding is None:
        return {}
    spec = jax.sharding.PartitionSpec(*sharding.spec[1:]) if sharding.spec else jax.sharding.PartitionSpec()
    return {"out_sharding": jax.sharding.NamedSharding(sharding.mesh, spec)}


def _concat(num_microbatches: int) -> Accumulator:
    _positive_count(num_microbatches)

    def init(value: Any) -> jax.Array:
        return jnp.broadcast_to(jnp.zeros_like(value), (num_microbatches, *value.shape))

    def update(carry: jax.Array, value: jax.Array, index: Any) -> jax.Array:
        return carry.at[index].set(value)

    def finalize(carry: jax.Array) -> jax.Array:
        # Column-major, undoing `reshape_batch_axis`: rows come back in batch order.
        # The micro-batch axis is replicated, so its spec entry is dropped.
        return carry.reshape(-1, *carry.shape[2:], order="F", **_replicated_first_axis(carry))

    return _per_leaf(Accumulator(init, update, finalize, lambda values: values))


def is_accumulator(value: Any) -> bool:
    """An `Accumulator`, or an object with its four callables (optax's `Accumulator`)."""
    if isinstance(value, Accumulator):
        return True
    return all(callable(getattr(value, name, None)) for name in ("init", "update", "finalize", "aggregate"))


def accumulation_type(value: Any) -> AccumulationType | None:
    """`value` as an `AccumulationType` (also optax's enum, by member name), else `None`."""
    if isinstance(value, AccumulationType):
        return value
    if isinstance(value, enum.Enum) and value.name in AccumulationType.__members__:
        return AccumulationType[value.name]
    return None


def check_accumulator_tree(who: str, tree: Any) -> None:
    """Raises `ValueError` naming `accumulator` if a leaf is neither an accumulator nor a type."""
    for leaf in jax.tree.leaves(tree):
        if not is_accumulator(leaf) and accumulation_type(leaf) is None:
            raise ValueError(
                f"{who}: accumulator must be an Accumulator, an AccumulationType "
                f"(MEAN, SUM, RUNNING_MEAN, CONCAT) or a pytree of them, got leaf {leaf!r}"
            )


def canonicalize(tree: Any, num_microbatches: int) -> Accumulator:
    """One `Accumulator` from an accumulator, a type, or a pytree prefix of them."""

    def build(leaf: Any) -> Any:
        if is_accumulator(leaf):
            return leaf
        kind = accumulation_type(leaf)
        if kind is AccumulationType.MEAN:
            return _mean(num_microbatches)
        if kind is AccumulationType.SUM:
            return _sum()
        if kind is AccumulationType.RUNNING_MEAN:
            return _running_mean()
        if kind is AccumulationType.CONCAT:
            return _concat(num_microbatches)
        raise ValueError(f"Unknown accumulator: {leaf}")

    return _compose(jax.tree.map(build, tree))
