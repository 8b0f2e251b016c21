"""Which members `gdx.fuse` can run on packed buffers, and their packed re-assembly.

A transformation is run on a `PackedTree` unchanged when it is element-wise
(every output element depends only on the same element of its inputs, plus
scalars such as the step count) or reduces over *all* leaves at once
(`clip_by_global_norm`: the norm of the packed buffers is the norm of the
tree, up to summation order). Combinators are re-assembled around their
re-assembled members (`chain`, `named_chain`; `masked` gets its mask as a
tree over the packed buffers, buckets being split by mask value), and the one
per-leaf reduction gdx knows how to pack, `scale_by_trust_ratio`, computes one
norm per original leaf over runs of equal-size leaves. Anything else (shape-
dependent members such as adafactor or sm3, other per-leaf reductions, optax
or user transformations) is rejected by name when `fuse` is called.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common.dtypes import promoted
from gdx._common.norms import trust_ratio
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, chain, named_chain
from gdx.fused._packing import PackedTree, PackSpec
from gdx.wrappers.masked import MaskedNode, masked


class Packable(NamedTuple):
    """A member run unchanged on the packed tree."""

    tx: GradientTransformation


class Chained(NamedTuple):
    """`chain` (names None) or `named_chain` of planned members."""

    members: tuple[Any, ...]
    names: tuple[str, ...] | None


class Masked(NamedTuple):
    """`masked(inner, mask)`; the mask is the `mask_id`-th one of the plan."""

    inner: Any
    mask_id: int


class TrustRatio(NamedTuple):
    """`scale_by_trust_ratio`: per-leaf norms over the runs of equal-size leaves of each bucket."""

    tx: GradientTransformation
    min_norm: Any
    trust_coefficient: Any
    eps: Any
    fast_norm: bool = False


def _describe(update: Any) -> str:
    return f"{getattr(update, '__module__', '?')}.{getattr(update, '__qualname__', repr(update))}"


def make_plan(tx: Any, masks: list[Any]) -> Any:
    """Walks `tx` and returns its plan; appends the mask of every `masked` member to `masks`.

    Raises:
      TypeError: naming the first member `fuse` cannot run on packed buffers.
    """
    update = getattr(tx, "update", None)
    if update is None or not callable(getattr(tx, "init", None)):
        raise TypeError(f"fuse: expected a GradientTransformation, got {tx!r}")
    kind, parts = getattr(update, "_gdx_structure", (None, {}))
    if kind == "chain":
        return Chained(tuple(make_plan(m, masks) for m in parts["members"]), None)
    if kind == "named_chain":
        members = parts["members"]
        return Chained(tuple(make_plan(m, masks) for _, m in members), tuple(n for n, _ in members))
    if kind == "masked":
        if parts["mask_compatible_extra_args"]:
            raise TypeError(
                "fuse: masked(..., mask_compatible_extra_args=True) cannot be packed (its extra "
                "arguments are trees over the params); apply it unfused"
            )
        masks.append(parts["mask"])
        mask_id = len(masks) - 1
        return Masked(make_plan(parts["inner"], masks), mask_id)
    if kind == "trust_ratio":
        return TrustRatio(
            tx, parts["min_norm"], parts["trust_coefficient"], parts["eps"], parts.get("fast_norm", False)
        )
    if kind == "elementwise":
        return Packable(tx)
    raise TypeError(
        f"fuse: cannot run the member {_describe(update)} on packed buffers: fuse only knows gdx's "
        "element-wise transformations, clip_by_global_norm, scale_by_trust_ratio, chain, named_chain "
        "and masked (a member that depends on leaf shapes or reduces per leaf, such as adafactor, "
        "sm3, novograd or fromage, or an optax/user transformation, would give wrong numbers). "
        "Use it unfused: chain(fuse(<the packable part>), <this member>) or no fuse at all."
    )


def build(plan: Any, spec: PackSpec) -> GradientTransformation:
    """The transformation of `plan` on the packed tree of `spec` (same state layout, packed leaves)."""
    if isinstance(plan, Packable):
        return plan.tx
    if isinstance(plan, Chained):
        members = [build(m, spec) for m in plan.members]
        if plan.names is None:
            return chain(*members)
        return named_chain(*zip(plan.names, members))
    if isinstance(plan, Masked):
        return masked(build(plan.inner, spec), spec.mask_tree(plan.mask_id))
    if isinstance(plan, TrustRatio):
        return _packed_trust_ratio(plan, spec)
    raise AssertionError(plan)


def _packed_trust_ratio(plan: TrustRatio, spec: PackSpec) -> GradientTransformation:
    """`scale_by_trust_ratio` on a packed tree: one norm per original leaf.

    In a bucket, leaves are sorted by size, so each run of `count` leaves of
    `size` elements is one `(count, size)` matrix reduced along its rows (a
    `segment_sum` is much slower on XLA:CPU). Per-leaf leaves use the original
    transformation.
    """
    min_norm, trust_coefficient, eps = plan.min_norm, plan.trust_coefficient, plan.eps

    def scale_bucket(update: jax.Array, param: jax.Array, runs: Any) -> jax.Array:
        pieces = []
        for start, count, size in runs:
            u = jax.lax.slice(update, (start,), (start + count * size,)).reshape(count, size)
            p = jax.lax.slice(param, (start,), (start + count * size,)).reshape(count, size)
            # The ratio the tree path computes, one per row (original leaf).
            ratio = trust_ratio(p, u, min_norm, trust_coefficient, eps, plan.fast_norm, axis=1)
            pieces.append(promoted(jnp.multiply, u, ratio[:, None]).astype(u.dtype).reshape(-1))
        return pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces)

    def update(updates, state, params=None, **extra_args):
        if params is None:
            raise ValueError("scale_by_trust_ratio needs params: call update(grads, state, params)")
        buckets = tuple(
            u if isinstance(u, MaskedNode) else scale_bucket(u, p, bucket.runs)
            for u, p, bucket in zip(updates.buckets, params.buckets, spec.buckets)
        )
        leaves, state = plan.tx.update(updates.leaves, state, params.leaves, **extra_args)
        return PackedTree(buckets, leaves), state

    return GradientTransformationExtraArgs(plan.tx.init, update)
