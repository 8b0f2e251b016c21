"""The packed layout behind `gdx.fuse`: which leaves share a buffer, and pack/unpack.

Small leaves of the same dtype, mask signature and sharding are ravelled and
concatenated into buckets (sorted by size, so equal-size leaves are contiguous
and a per-leaf reduction is one `reshape(count, size)` per run of equal
sizes). Large, empty and sharded leaves stay per-leaf. Unpacking slices each
leaf out of its bucket with `lax.dynamic_slice` at a *runtime* int32 offset
kept in the state: XLA then emits one kernel per distinct leaf size instead of
one per static offset, which keeps compile time nearly flat in leaf count.
"""

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from gdx.wrappers.masked import MaskedNode, mask_is_callable


class PackedTree(NamedTuple):
    """What the inner transformation of `gdx.fuse` sees instead of the user's tree.

    Attributes:
      buckets: one 1-D buffer per bucket of packed small leaves.
      leaves: the leaves kept per-leaf (large, empty or sharded), in tree order.
    """

    buckets: tuple[Any, ...]
    leaves: tuple[Any, ...]


class Bucket(NamedTuple):
    """Static description of one bucket.

    Attributes:
      leaves: indices (in `jax.tree.leaves` order) of the leaves packed here, sorted by size.
      offsets: start of each of those leaves in the buffer.
      runs: `(start, count, leaf_size)` for each run of equal-size leaves.
      masks: the value of every `masked` member's mask for the leaves of this bucket.
    """

    leaves: tuple[int, ...]
    offsets: tuple[int, ...]
    runs: tuple[tuple[int, int, int], ...]
    masks: tuple[bool, ...]


class PackSpec:
    """The static part of the packed layout: hashable, compared by value.

    It travels in the state as the aux data of `PackLayout` (part of the state's
    treedef, so it is static under jit and survives `jax.tree.map`).
    """

    def __init__(
        self,
        treedef: Any,
        shapes: tuple[tuple[int, ...], ...],
        dtypes: tuple[str, ...],
        buckets: tuple[Bucket, ...],
        per_leaf: tuple[int, ...],
        leaf_masks: tuple[tuple[bool, ...], ...],
    ):
        self.treedef, self.shapes, self.dtypes = treedef, shapes, dtypes
        self.buckets, self.per_leaf, self.leaf_masks = buckets, per_leaf, leaf_masks
        self._key = (treedef, shapes, dtypes, buckets, per_leaf, leaf_masks)
        self._hash = hash(self._key)  # jit hashes the state's treedef on every call

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PackSpec) and (self is other or self._key == other._key)

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        sizes = [sum(math.prod(self.shapes[i]) for i in b.leaves) for b in self.buckets]
        return f"PackSpec(leaves={len(self.shapes)}, bucket_sizes={sizes}, per_leaf={len(self.per_leaf)})"

    def mask_tree(self, mask_id: int) -> PackedTree:
        """The mask of the `mask_id`-th `masked` member, as a tree of bools over the packed tree."""
        return PackedTree(
            buckets=tuple(b.masks[mask_id] for b in self.buckets),
            leaves=tuple(self.leaf_masks[i][mask_id] for i in self.per_leaf),
        )


@jax.tree_util.register_pytree_with_keys_class
class PackLayout:
    """State field of `gdx.fuse`: the int32 offsets of every packed leaf, plus the static `PackSpec`.

    Children: `offsets`, a tuple (one per bucket) of tuples of int32 scalars.
    Aux data: the `PackSpec`.
    """

    def __init__(self, offsets: Any, spec: PackSpec):
        self.offsets, self.spec = offsets, spec

    @classmethod
    def from_spec(cls, spec: PackSpec) -> "PackLayout":
        offsets = tuple(tuple(jnp.asarray(o, jnp.int32) for o in b.offsets) for b in spec.buckets)
        return cls(offsets, spec)

    def tree_flatten_with_keys(self):
        return ((jax.tree_util.GetAttrKey("offsets"), self.offsets),), self.spec

    @classmethod
    def tree_unflatten(cls, spec, children):
        return cls(children[0], spec)

    def __repr__(self) -> str:
        return f"PackLayout({self.spec!r})"


def _sharding_key(leaf: Any) -> Any:
    """The sharding of a concrete leaf (buckets key on it); `False` if it is split over devices.

    A leaf split over devices stays per-leaf. Tracers (init under jit or pmap)
    carry no sharding: they get the key None and are packed.
    """
    if isinstance(leaf, Tracer) or not isinstance(leaf, jax.Array):
        return None
    sharding = leaf.sharding
    return sharding if sharding.is_fully_replicated else False


def _resolve_mask(mask: Any, params: Any, leaf_count: int) -> tuple[bool, ...]:
    """The mask of a `masked` member as one Python bool per leaf of `params`."""
    mask_tree = mask(params) if mask_is_callable(mask) else mask
    try:
        full = jax.tree.map(lambda m, sub: jax.tree.map(lambda _: bool(m), sub), mask_tree, params)
    except (ValueError, TypeError) as error:
        raise ValueError(
            "fuse: a masked member's mask must be a pytree of Python bools with the structure of the "
            f"params (or a prefix of it), or a callable returning one; it does not fit: {error}"
        ) from error
    values = tuple(jax.tree.leaves(full))
    assert len(values) == leaf_count
    return values


def make_spec(params: Any, masks: list[Any], pack_leaves_below: int, max_bucket_size: int) -> PackSpec:
    """Decides the packed layout of `params` (shapes, dtypes, masks and shardings only)."""
    leaves, treedef = jax.tree.flatten(params)
    shapes = tuple(tuple(int(d) for d in jnp.shape(x)) for x in leaves)
    dtypes = tuple(str(jnp.result_type(x)) for x in leaves)
    resolved = [_resolve_mask(m, params, len(leaves)) for m in masks]
    leaf_masks = tuple(tuple(r[i] for r in resolved) for i in range(len(leaves)))
    groups: dict[Any, list[int]] = {}
    per_leaf = []
    for i, leaf in enumerate(leaves):
        size, sharding = math.prod(shapes[i]), _sharding_key(leaf)
        if size == 0 or size >= pack_leaves_below or sharding is False:
            per_leaf.append(i)
        else:
            groups.setdefault((dtypes[i], leaf_masks[i], sharding), []).append(i)
    buckets = []
    for (_, signature, _), members in groups.items():
        members.sort(key=lambda i: (math.prod(shapes[i]), i))
        chunk: list[int] = []
        for i in [*members, -1]:  # -1 flushes the last chunk
            chunk_size = sum(math.prod(shapes[j]) for j in chunk)
            if chunk and (i == -1 or chunk_size + math.prod(shapes[i]) > max_bucket_size):
                buckets.append(_bucket(chunk, shapes, signature))
                chunk = []
            if i != -1:
                chunk.append(i)
    return PackSpec(treedef, shapes, dtypes, tuple(buckets), tuple(per_leaf), leaf_masks)


def _bucket(members: list[int], shapes: tuple[tuple[int, ...], ...], masks: tuple[bool, ...]) -> Bucket:
    sizes = [math.prod(shapes[i]) for i in members]
    offsets = tuple(int(o) for o in np.cumsum([0, *sizes[:-1]]))
    runs: list[tuple[int, int, int]] = []
    for offset, size in zip(offsets, sizes):
        if runs and runs[-1][2] == size:
            start, count, _ = runs[-1]
            runs[-1] = (start, count + 1, size)
        else:
            runs.append((offset, 1, size))
    return Bucket(tuple(members), offsets, tuple(runs), masks)


def _same_up_to_leaf_wrappers(treedef: Any, tree: Any) -> bool:
    """Whether `tree` has `treedef`'s leaves at the same paths, but for one wrapper attribute at a leaf.

    A Flax `nnx.Optimizer` calls `init` on params whose leaves are wrapped (`Param(value)`,
    path `[...].value`) and `update` on the bare arrays (path `[...]`), as optax allows.
    """
    if treedef.num_leaves != jax.tree_util.tree_structure(tree).num_leaves:
        return False
    like = treedef.unflatten([0] * treedef.num_leaves)
    expected = [p for p, _ in jax.tree_util.tree_flatten_with_path(like)[0]]
    got = [p for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]
    strip = lambda path: path[:-1] if path and isinstance(path[-1], jax.tree_util.GetAttrKey) else path
    return all(e == g or strip(e) == g or e == strip(g) for e, g in zip(expected, got))


def leaves_of(spec: PackSpec, tree: Any, what: str) -> list[Any]:
    """The leaves of `tree` (in the order of the spec), checked against the packed layout."""
    leaves, treedef = jax.tree.flatten(tree)
    if treedef != spec.treedef and not _same_up_to_leaf_wrappers(spec.treedef, tree):
        expected = [
            jax.tree_util.keystr(p)
            for p, _ in jax.tree_util.tree_flatten_with_path(
                spec.treedef.unflatten([0] * spec.treedef.num_leaves)
            )[0]
        ]
        got = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]
        first = next((f"{e} vs {g}" for e, g in zip(expected, got) if e != g), "the number of leaves")
        raise ValueError(
            f"fuse: {what} do not have the structure of the params the state was built for "
            f"(first difference: {first}); rebuild the state with init(params)"
        )
    for i, leaf in enumerate(leaves):
        if tuple(jnp.shape(leaf)) != spec.shapes[i]:
            raise ValueError(
                f"fuse: {what} leaf {i} has shape {jnp.shape(leaf)}, the state was built for "
                f"{spec.shapes[i]}; rebuild the state with init(params)"
            )
    return leaves


def pack_leaves(spec: PackSpec, leaves: list[Any]) -> PackedTree:
    """Concatenates the ravelled small leaves into their buckets; keeps the rest per-leaf.

    A leaf that is a `MaskedNode` (a masked-out part of a state) makes its bucket a `MaskedNode`.
    """
    buckets = []
    for bucket in spec.buckets:
        parts = [leaves[i] for i in bucket.leaves]
        if any(isinstance(p, MaskedNode) for p in parts):
            buckets.append(MaskedNode())
        else:
            ravelled = [p if jnp.ndim(p) == 1 else jnp.ravel(p) for p in parts]
            buckets.append(ravelled[0] if len(ravelled) == 1 else jnp.concatenate(ravelled))
    return PackedTree(tuple(buckets), tuple(leaves[i] for i in spec.per_leaf))


def unpack_leaves(spec: PackSpec, offsets: Any, packed: PackedTree) -> list[Any]:
    """The leaves of the user's tree, sliced out of `packed` at the runtime `offsets`."""
    leaves: list[Any] = [None] * len(spec.shapes)
    for bucket, bucket_offsets, buffer in zip(spec.buckets, offsets, packed.buckets):
        for i, offset in zip(bucket.leaves, bucket_offsets):
            if isinstance(buffer, MaskedNode):
                leaves[i] = MaskedNode()
            else:
                size, shape = math.prod(spec.shapes[i]), spec.shapes[i]
                # Offsets are never negative: skipping the wrap-around keeps each kernel minimal.
                leaf = jax.lax.dynamic_slice(buffer, (offset,), (size,), allow_negative_indices=False)
                leaves[i] = leaf if len(shape) == 1 else leaf.reshape(shape)
    for i, leaf in zip(spec.per_leaf, packed.leaves):
        leaves[i] = leaf
    return leaves
