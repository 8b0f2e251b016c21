"""Saving and restoring params + optimizer state: `numpy.savez` files and orbax directories."""

import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import numpy as np

from gdx.checkpoint import _format
from gdx.checkpoint._format import Migration, TreeDiff
from gdx.checkpoint._spec import OptimizerSpec

_METADATA_KEY = "__gdx_metadata__"
_ORBAX_HINT = 'orbax-checkpoint is not installed; install it with: pip install "gdx[checkpoint]"'


class Restored(NamedTuple):
    """What a restore returns: the params, the optimizer state, the metadata (a dict) and the tree diff.

    `diff` is empty for `restore`; `restore_partial` lists the leaves that were
    freshly initialized (`added`, `changed`) or dropped (`removed`).
    """

    params: Any
    opt_state: Any
    metadata: dict[str, Any]
    diff: TreeDiff = TreeDiff([], [], [])


def _tree(params: Any, opt_state: Any) -> dict[str, Any]:
    return {"params": params, "opt_state": opt_state}


def save(
    path: str | os.PathLike[str],
    params: Any,
    opt_state: Any,
    *,
    spec: OptimizerSpec | None = None,
    step: int | None = None,
    extra: Any = None,
) -> None:
    """Writes params and optimizer state to one `.npz` file (`numpy.savez`, no pickle).

    Keys are the leaves' key paths (`"['opt_state'][0].mu['w']"`); the
    metadata (schema version, gdx version, `spec.to_json()`, the step, `extra`,
    and each leaf's shape/dtype/encoding) is a JSON string under
    `"__gdx_metadata__"`.

    Args:
      path: the file to write (`.npz` is appended if missing). It is written beside
        and then renamed, so an interrupted save leaves the previous file intact.
      params: the params pytree.
      opt_state: the optimizer state (`tx.init(params)` after some updates).
      spec: the `OptimizerSpec` that built the optimizer (optional; needed for
        `expected_spec` checks and `OptimizerSpec.build` on resume).
      step: the training step; default: the largest int32 `count`/`step` leaf of the state.
      extra: anything JSON-able to keep beside (epoch, data-loader position, ...).
    """
    arrays, index = _format.encode(_tree(params, opt_state))
    metadata = _format.make_metadata(index, spec, step, extra, opt_state)
    payload = {_METADATA_KEY: np.array(json.dumps(metadata)), **arrays}
    final = _npz_path(path)
    partial = f"{final}.partial"
    with open(partial, "wb") as file:  # written aside, then renamed: a crash never leaves half a file
        np.savez(file, **payload)  # type: ignore[arg-type]  # str keys of any form are valid entry names
    os.replace(partial, final)


def _npz_path(path: str | os.PathLike[str]) -> str:
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"  # as numpy.savez names it


def _read_npz(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not os.path.exists(path) and os.path.exists(_npz_path(path)):
        path = _npz_path(path)
    name = os.fspath(path)
    if os.path.isfile(name) and os.path.getsize(name) == 0:
        raise ValueError(
            f"gdx.checkpoint: {name!r} is empty (0 bytes): not a checkpoint, or its save was cut off"
        )
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single .npy array, not a .npz archive")
        with data:
            if _METADATA_KEY not in data.files:
                raise ValueError(f"gdx.checkpoint: {name!r} is not a gdx checkpoint (no metadata)")
            metadata = json.loads(str(data[_METADATA_KEY]))
            arrays = {key: data[key] for key in data.files if key != _METADATA_KEY}
    except FileNotFoundError:
        raise
    except ValueError as error:
        if str(error).startswith("gdx.checkpoint:"):
            raise
        raise _corrupted(name, error) from error
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, UnicodeDecodeError) as error:
        raise _corrupted(name, error) from error
    return metadata, arrays


def _corrupted(name: str, error: BaseException) -> ValueError:
    return ValueError(
        f"gdx.checkpoint: {name!r} is truncated or corrupted and cannot be read "
        f"({type(error).__name__}: {error}); restore an earlier checkpoint"
    )


def _check_arrays(name: str, metadata: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Every leaf the metadata lists is in the file, with the recorded shape (a file edited or mixed up)."""
    leaves = metadata.get("leaves") if isinstance(metadata, dict) else None
    if not isinstance(leaves, dict):
        raise ValueError(f"gdx.checkpoint: {name!r} has unreadable metadata (no leaf index); it is corrupted")
    missing = [path for path in leaves if path not in arrays]
    if missing:
        raise ValueError(
            f"gdx.checkpoint: {name!r} is corrupted: the metadata lists leaves it lacks: {missing}"
        )
    for path, entry in leaves.items():
        shape = list(arrays[path].shape)
        encoding = entry.get("encoding", "raw") if isinstance(entry, dict) else None
        expected = entry.get("shape") if isinstance(entry, dict) else None
        # a PRNG key's data has the key's shape plus trailing key-data dimensions
        if (
            expected is None
            or (shape[: len(expected)] if str(encoding).startswith("prng_key:") else shape) != expected
        ):
            raise ValueError(
                f"gdx.checkpoint: {name!r} is corrupted: leaf {path} has shape {shape}, "
                f"the metadata records {expected}"
            )


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata dict of a `.npz` checkpoint or an orbax checkpoint directory, as saved."""
    if os.path.isdir(path):
        return _read_orbax(path, arrays=False)[0]
    return _read_npz(path)[0]


def _load(path, migrations) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if os.path.isdir(path):
        metadata, arrays = _read_orbax(path, arrays=True)
    else:
        metadata, arrays = _read_npz(path)
    metadata, arrays = _format.migrate(metadata, arrays, migrations)
    _check_arrays(os.fspath(path), metadata, arrays)  # after migration: old layouts have no leaf index
    return metadata, arrays


def restore(
    path: str | os.PathLike[str],
    params: Any,
    opt_state: Any,
    *,
    expected_spec: OptimizerSpec | None = None,
    migrations: Mapping[int, Migration] | None = None,
) -> Restored:
    """Reads a checkpoint (`.npz` file or orbax directory) into the structure of `params`/`opt_state`.

    `params` and `opt_state` are "like" trees built by the caller (e.g. the
    model's fresh params and `tx.init(params)`, or `jax.eval_shape` of them):
    they give the tree structure, including leafless nodes such as `None` or
    `MaskedNode()`, and sharding. Every key path, shape and dtype must match;
    otherwise a `ValueError` lists all differing paths.

    Args:
      path: what `save` or `save_orbax` wrote.
      params: a params tree of the saved structure.
      opt_state: an optimizer state of the saved structure.
      expected_spec: if given, the saved `OptimizerSpec` must equal it (a
        `ValueError` lists the differing hyperparameters; callables compare equal).
      migrations: `{version: fn(metadata, arrays) -> (metadata, arrays)}` for old
        schema versions; default `gdx.checkpoint.MIGRATIONS`.

    Returns:
      `Restored(params, opt_state, metadata)`.
    """
    metadata, arrays = _load(path, migrations)
    _format.check_spec(metadata, expected_spec)
    restored = _format.fill(_tree(params, opt_state), arrays, metadata, keep_missing=False)
    return Restored(restored["params"], restored["opt_state"], metadata)


def restore_partial(
    path: str | os.PathLike[str],
    tx: Any,
    new_params: Any,
    *,
    expected_spec: OptimizerSpec | None = None,
    migrations: Mapping[int, Migration] | None = None,
) -> Restored:
    """Restores into a param tree that changed since the save (layers added, removed or reshaped).

    Every leaf of `{"params": new_params, "opt_state": tx.init(new_params)}`
    whose key path, shape and dtype the checkpoint also has is taken from the
    checkpoint; the others keep their fresh values (the new layer's params as
    given, its optimizer state from `tx.init`). `Restored.diff` says which.
    """
    metadata, arrays = _load(path, migrations)
    _format.check_spec(metadata, expected_spec)
    target = _tree(new_params, tx.init(new_params))
    diff = _format.diff_trees(_format.saved_signatures(metadata), target)
    restored = _format.fill(target, arrays, metadata, keep_missing=True)
    return Restored(restored["params"], restored["opt_state"], metadata, diff)


def _orbax():
    try:
        import orbax.checkpoint as ocp
    except ImportError as error:  # pragma: no cover - the test extra installs orbax
        raise ImportError(_ORBAX_HINT) from error
    return ocp


def save_orbax(
    directory: str | os.PathLike[str],
    params: Any,
    opt_state: Any,
    *,
    spec: OptimizerSpec | None = None,
    step: int | None = None,
    extra: Any = None,
) -> None:
    """As `save`, into an orbax-checkpoint directory (`pip install "gdx[checkpoint]"`).

    The arrays go through orbax's `StandardSave` (the same encoded leaves as
    `save`, keyed `leaf_00000`, ...) and the metadata through `JsonSave`, in one
    `CompositeCheckpointHandler` checkpoint. `directory` must not exist yet.
    """
    ocp = _orbax()
    arrays, index = _format.encode(_tree(params, opt_state))
    metadata = _format.make_metadata(index, spec, step, extra, opt_state)
    names = {path: f"leaf_{i:05d}" for i, path in enumerate(arrays)}
    metadata["orbax_names"] = names
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        checkpointer.save(
            os.path.abspath(directory),
            ocp.args.Composite(
                arrays=ocp.args.StandardSave({names[p]: a for p, a in arrays.items()}),
                metadata=ocp.args.JsonSave(metadata),
            ),
        )


def _read_orbax(directory, *, arrays: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    ocp = _orbax()
    directory = os.path.abspath(directory)
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        args: dict[str, Any] = {"metadata": ocp.args.JsonRestore()}
        if arrays:
            args["arrays"] = ocp.args.StandardRestore()
        restored = checkpointer.restore(directory, ocp.args.Composite(**args))
    metadata = dict(restored["metadata"])
    if not arrays:
        return metadata, {}
    names = metadata.pop("orbax_names")
    loaded = {path: np.asarray(jax.device_get(restored["arrays"][name])) for path, name in names.items()}
    return metadata, loaded


def restore_orbax(
    directory: str | os.PathLike[str],
    params: Any,
    opt_state: Any,
    *,
    expected_spec: OptimizerSpec | None = None,
    migrations: Mapping[int, Migration] | None = None,
) -> Restored:
    """`restore` of a `save_orbax` directory (`restore` also accepts one: this is the same)."""
    if not os.path.isdir(directory):
        raise ValueError(f"gdx.checkpoint: {os.fspath(directory)!r} is not an orbax checkpoint directory")
    return restore(directory, params, opt_state, expected_spec=expected_spec, migrations=migrations)
