"""The checkpoint format: flat `{key path: array}` plus JSON metadata, and tree matching.

A checkpoint holds the leaves of `{"params": params, "opt_state": opt_state}`
keyed by their jax key path (`"['opt_state'][0].mu['w']"`). Leaves numpy
cannot store natively are encoded: bfloat16 (and the other ml_dtypes types)
as their raw bits (`uint16` for bfloat16) plus the dtype name, typed PRNG keys
as `jax.random.key_data` plus the key implementation. Empty sub-trees
(`None`, `MaskedNode()`, `EmptyState()`) have no leaves; they come back from
the structure of the tree one restores into.
"""

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdx.checkpoint._spec import OptimizerSpec, spec_differences

SCHEMA_VERSION = 1
"""Version of the checkpoint layout; bumped (with a migration) when the layout changes."""

Arrays = dict[str, np.ndarray]
Migration = Callable[[dict[str, Any], Arrays], tuple[dict[str, Any], Arrays]]

MIGRATIONS: dict[int, Migration] = {}
"""`{schema version v: fn(metadata, arrays) -> (metadata, arrays)}`, upgrading version v to v+1."""


class TreeDiff(NamedTuple):
    """Key paths that differ between a checkpoint and the tree it is restored into."""

    added: list[str]  # in the new tree only
    removed: list[str]  # in the checkpoint only
    changed: list[str]  # in both, with a different shape or dtype ("path: saved -> new")

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def describe(self) -> str:
        lines = [f"  added (not in the checkpoint): {p}" for p in self.added]
        lines += [f"  removed (only in the checkpoint): {p}" for p in self.removed]
        lines += [f"  shape/dtype changed: {p}" for p in self.changed]
        return "\n".join(lines)


def paths_and_leaves(tree: Any) -> list[tuple[str, Any]]:
    """`[(keystr(path), leaf)]` in tree order."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(path), leaf) for path, leaf in leaves]


def _is_prng_key(dtype: Any) -> bool:
    return jnp.issubdtype(dtype, jax.dtypes.prng_key)


def signature(leaf: Any) -> tuple[tuple[int, ...], str]:
    """`(shape, dtype name)` of an array or `jax.ShapeDtypeStruct` (`key<fry>` for typed keys)."""
    leaf = leaf if hasattr(leaf, "dtype") else jnp.asarray(leaf)
    return tuple(leaf.shape), str(leaf.dtype)


def encode(tree: Any) -> tuple[Arrays, dict[str, dict[str, Any]]]:
    """Flattens `tree` to numpy arrays numpy can save, and an index of how to decode them."""
    arrays: Arrays = {}
    index: dict[str, dict[str, Any]] = {}
    for path, leaf in paths_and_leaves(tree):
        leaf = leaf if hasattr(leaf, "dtype") else jnp.asarray(leaf)  # a Python number
        shape, dtype = signature(leaf)
        entry: dict[str, Any] = {"shape": list(shape), "dtype": dtype}
        if _is_prng_key(leaf.dtype):
            entry["encoding"] = "prng_key:" + str(jax.random.key_impl(leaf))
            array = np.asarray(jax.random.key_data(leaf))
        else:
            array = np.asarray(leaf)
            if array.dtype.kind == "V":  # bfloat16, float8, int4, ...: numpy would save raw void
                entry["encoding"] = "bits"
                array = array.view(np.dtype(f"uint{array.dtype.itemsize * 8}"))
            else:
                entry["encoding"] = "raw"
        arrays[path] = array
        index[path] = entry
    return arrays, index


def decode(array: np.ndarray, entry: Mapping[str, Any]) -> Any:
    """Inverse of `encode` for one leaf."""
    encoding = entry["encoding"]
    if encoding.startswith("prng_key:"):
        return jax.random.wrap_key_data(jnp.asarray(array), impl=encoding.split(":", 1)[1])
    if encoding == "bits":
        return np.asarray(array).view(jnp.dtype(entry["dtype"]))
    return np.asarray(array)


def diff_trees(saved: Mapping[str, tuple[tuple[int, ...], str]], target: Any) -> TreeDiff:
    """Compares `{path: (shape, dtype)}` of a checkpoint with the leaves of `target`."""
    new = {path: signature(leaf) for path, leaf in paths_and_leaves(target)}
    added = [p for p in new if p not in saved]
    removed = [p for p in saved if p not in new]
    changed = [f"{p}: {_show(saved[p])} -> {_show(new[p])}" for p in new if p in saved and saved[p] != new[p]]
    return TreeDiff(added, removed, changed)


def _show(sig: tuple[tuple[int, ...], str]) -> str:
    return f"{sig[1]}{list(sig[0])}"


def saved_signatures(metadata: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    return {p: (tuple(e["shape"]), e["dtype"]) for p, e in metadata["leaves"].items()}


def fill(target: Any, arrays: Arrays, metadata: Mapping[str, Any], *, keep_missing: bool) -> Any:
    """`target` with each leaf replaced by the checkpoint's leaf at the same path.

    With `keep_missing`, leaves absent from the checkpoint (or with another
    shape/dtype) keep their value in `target`; without it they are an error
    listing every differing path.
    """
    saved = saved_signatures(metadata)
    if not keep_missing:
        difference = diff_trees(saved, target)
        if difference:
            raise ValueError(
                "gdx.checkpoint: the checkpoint does not match the tree to restore into "
                "(params or optimizer changed?):\n"
                f"{difference.describe()}\n"
                "To keep the saved leaves and initialize the new ones, use "
                "gdx.checkpoint.restore_partial(path, tx, new_params) or "
                "gdx.checkpoint.grow_state(tx, old_state, new_params)."
            )
    leaves, treedef = jax.tree_util.tree_flatten_with_path(target)
    out = []
    for path, leaf in leaves:
        key = jax.tree_util.keystr(path)
        if key in saved and saved[key] == signature(leaf):
            value = decode(arrays[key], metadata["leaves"][key])
            sharding = getattr(leaf, "sharding", None)
            out.append(jax.device_put(value, sharding) if sharding is not None else jnp.asarray(value))
        else:
            out.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, out)


def make_metadata(
    index: dict[str, Any], spec: OptimizerSpec | None, step: int | None, extra: Any, opt_state: Any
) -> dict[str, Any]:
    import gdx

    if spec is not None and not isinstance(spec, OptimizerSpec):
        raise TypeError(f"gdx.checkpoint: spec must be an OptimizerSpec or None, got {spec!r}")
    return {
        "schema_version": SCHEMA_VERSION,
        "gdx_version": gdx.__version__,
        "optimizer": None if spec is None else spec.to_json(),
        "step": infer_step(opt_state) if step is None else int(step),
        "extra": extra,
        "leaves": index,
    }


_STEP_FIELDS = ("count", "step", "gradient_step")


def _field_name(path: tuple[Any, ...]) -> str | None:
    """The name of the state field a leaf sits in: the last key, skipping a flax wrapper's `.value`.

    `.count` (a NamedTuple field), `['count']` (the same state as an `nnx.State`
    or a pure dict) and `.count.value` / `['count'].value` (inside `nnx.Optimizer`,
    whose leaves are `nnx.Variable` objects) all name the field `count`.
    """
    keys = list(path)
    if len(keys) > 1 and isinstance(keys[-1], jax.tree_util.GetAttrKey) and keys[-1].name == "value":
        keys.pop()
    if not keys:
        return None
    key = keys[-1]
    if isinstance(key, jax.tree_util.GetAttrKey):
        return key.name
    if isinstance(key, jax.tree_util.DictKey) and isinstance(key.key, str):
        return key.key
    return None


def _scalar_int(leaf: Any) -> int | None:
    if isinstance(leaf, bool):
        return None
    if isinstance(leaf, int):
        return leaf
    dtype = getattr(leaf, "dtype", None)
    if dtype is None or _is_prng_key(dtype) or np.ndim(leaf) != 0:
        return None
    if np.dtype(dtype).kind not in "iu":  # int32 counters, nnx.Optimizer's uint32 step
        return None
    return int(leaf)


def infer_step(opt_state: Any) -> int | None:
    """The largest scalar integer `count`/`step`/`gradient_step` field in the state (`None` if none).

    Found at any depth (chains, `partition`, `MultiSteps`, `inject_hyperparams`)
    and in any container: NamedTuple states, their `nnx.State` / pure-dict form,
    and `nnx.Variable` leaves (`nnx.state(optimizer)`, whose `step` counts
    `optimizer.update` calls). `MultiSteps`' `mini_step` and `apply_if_finite`'s
    `notfinite_count` are not steps.
    """
    leaves, _ = jax.tree_util.tree_flatten_with_path(opt_state)
    steps = [
        value
        for path, leaf in leaves
        if _field_name(path) in _STEP_FIELDS and (value := _scalar_int(leaf)) is not None
    ]
    return max(steps) if steps else None


def migrate(
    metadata: dict[str, Any], arrays: Arrays, migrations: Mapping[int, Migration] | None
) -> tuple[dict[str, Any], Arrays]:
    """Upgrades an old checkpoint one schema version at a time with `migrations` (default `MIGRATIONS`)."""
    migrations = MIGRATIONS if migrations is None else migrations
    version = int(metadata.get("schema_version", -1))
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"gdx.checkpoint: schema version {version} was written by a newer gdx than this one "
            f"(gdx {_gdx_version()} reads versions up to {SCHEMA_VERSION}); upgrade gdx"
        )
    while version < SCHEMA_VERSION:
        if version not in migrations:
            raise ValueError(
                f"gdx.checkpoint: no migration from schema version {version} to {version + 1}; "
                "register one in gdx.checkpoint.MIGRATIONS or pass migrations={version: fn}"
            )
        metadata, arrays = migrations[version](dict(metadata), dict(arrays))
        version = max(int(metadata.get("schema_version", version)), version + 1)
        metadata["schema_version"] = version
    return metadata, arrays


def _gdx_version() -> str:
    import gdx

    return gdx.__version__


def check_spec(metadata: Mapping[str, Any], expected_spec: OptimizerSpec | None) -> None:
    if expected_spec is None:
        return
    if metadata.get("optimizer") is None:
        raise ValueError(
            f"gdx.checkpoint: expected optimizer {expected_spec!r}, but the checkpoint records none "
            "(save with spec=...)"
        )
    saved = OptimizerSpec.from_json(metadata["optimizer"])
    differences = spec_differences(saved, expected_spec)
    if differences:
        raise ValueError(
            "gdx.checkpoint: the checkpoint was saved with another optimizer (saved != expected):\n  "
            + "\n  ".join(differences)
            + f"\nsaved:    {saved!r}\nexpected: {expected_spec!r}"
        )


def grow_state(tx: Any, old_state: Any, new_params: Any) -> Any:
    """`tx.init(new_params)` with every leaf that `old_state` also has (same key path, shape and dtype) kept.

    For a param tree that gained or lost layers: optimizer-state leaves are
    matched by key path, which for a params-shaped sub-tree ends with the param
    path (`[0].mu['dense']['kernel']`), so nested states (chains, wrappers)
    work. New layers get fresh state, removed ones are dropped, a leaf whose
    shape or dtype changed is re-initialized, and counters are kept.
    """
    arrays, index = encode(old_state)
    return fill(tx.init(new_params), arrays, {"leaves": index}, keep_missing=True)
