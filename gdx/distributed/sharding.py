"""Optimizer state laid out like the params: `state_sharding`, `init_sharded`, `bytes_per_device`."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec, Sharding

from gdx.core import GradientTransformation, OptState, Params


def _path_key(path: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(jax.tree_util.keystr((entry,)) for entry in path)


def _sharding_of(leaf: Any) -> Sharding:
    sharding = getattr(leaf, "sharding", None)
    if not isinstance(sharding, Sharding):
        raise ValueError(
            "state_sharding: every params leaf must carry a sharding (a jax.Array placed with "
            "jax.device_put, or a jax.ShapeDtypeStruct(..., sharding=...)), or pass params_sharding; "
            f"got a leaf {leaf!r}"
        )
    return sharding


def _find_mesh(shardings: list[Sharding]) -> Mesh | None:
    for sharding in shardings:
        if isinstance(sharding, NamedSharding) and isinstance(sharding.mesh, Mesh):
            return sharding.mesh
    return None


def _replicated(shardings: list[Sharding], mesh: Mesh | None) -> Sharding:
    if mesh is not None:
        return NamedSharding(mesh, PartitionSpec())
    if shardings and all(s == shardings[0] for s in shardings) and shardings[0].is_fully_replicated:
        return shardings[0]  # e.g. every param on one device: the state goes there too
    raise ValueError(
        "state_sharding: cannot tell which devices to replicate the non-param state leaves on "
        "(no params leaf has a NamedSharding); pass mesh=..."
    )


def state_sharding(
    tx: GradientTransformation,
    params: Params,
    params_sharding: Any | None = None,
    *,
    mesh: Mesh | None = None,
) -> Any:
    """Returns a `jax.sharding.Sharding` for every leaf of `tx.init(params)`, following the params.

    Rule, leaf by leaf of the abstract state `jax.eval_shape(tx.init, params)`:

    1. path match: if the leaf's tree path ends with the path of a params leaf
       of the same shape (`mu['layer']['w']` ends with `['layer']['w']`), it gets
       that param's sharding (the longest such suffix wins). This covers the
       param-shaped subtrees of every gdx state (moments, accumulators, EMAs,
       `masked`/`partition`/`MultiSteps` inner states);
    2. shape match: else, if the leaf's path ends with no param's path and
       some params leaf has the same (non-scalar) shape, it gets the sharding
       of the first such param (any sharding valid for one array of a shape is
       valid for another of that shape);
    3. else (counters, scalars, a param's factored or per-layer statistics)
       it is replicated on the mesh.

    Nothing is computed: only shapes are traced.

    Args:
      tx: the optimizer.
      params: the params, as `jax.Array` values or `jax.ShapeDtypeStruct` values. Their
        `.sharding` is used unless `params_sharding` is given.
      params_sharding: optional pytree of `Sharding` objects with the structure of
        `params`.
      mesh: where to replicate the non-param leaves; default: the mesh of the
        first params leaf with a `NamedSharding`.

    Returns:
      A pytree of `Sharding` objects with the structure of the state, ready for
      `jax.jit(..., out_shardings=...)` or `jax.device_put`.
    """
    abstract_params = jax.tree.map(lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)), params)
    if params_sharding is None:
        sharding_leaves = [_sharding_of(leaf) for leaf in jax.tree.leaves(params)]
    else:
        if jax.tree.structure(params_sharding) != jax.tree.structure(params):
            raise ValueError(
                "state_sharding: params_sharding must have the structure of params: "
                f"{jax.tree.structure(params_sharding)} != {jax.tree.structure(params)}"
            )
        sharding_leaves = jax.tree.leaves(params_sharding)
    mesh = mesh if mesh is not None else _find_mesh(sharding_leaves)
    replicated = _replicated(sharding_leaves, mesh)

    by_path: dict[tuple[str, ...], tuple[tuple[int, ...], Sharding]] = {}
    by_shape: dict[tuple[int, ...], Sharding] = {}
    for (path, leaf), sharding in zip(jax.tree_util.tree_leaves_with_path(abstract_params), sharding_leaves):
        by_path[_path_key(path)] = (leaf.shape, sharding)
        if leaf.shape:
            by_shape.setdefault(leaf.shape, sharding)

    def place(path, leaf):
        if not leaf.shape:
            return replicated
        key = _path_key(path)
        belongs_to_a_param = False
        for start in range(len(key) + 1):  # longest suffix first
            match = by_path.get(key[start:])
            if match is not None:
                if match[0] == leaf.shape:
                    return match[1]
                belongs_to_a_param = True
        # A leaf under a param's path with another shape is a statistic of that param
        # (e.g. Adafactor's factored v_row/v_col): small, replicated.
        return replicated if belongs_to_a_param else by_shape.get(leaf.shape, replicated)

    abstract_state = jax.eval_shape(tx.init, abstract_params)
    return jax.tree_util.tree_map_with_path(place, abstract_state)


def init_sharded(tx: GradientTransformation, params: Params, *, mesh: Mesh | None = None) -> OptState:
    """Initialises the optimizer state directly in the layout of `state_sharding(tx, params)`.

    Runs `jax.jit(tx.init, out_shardings=state_sharding(tx, params))(params)`:
    each device allocates only its shards, the state is never materialised on
    one device. (A plain `jax.jit(tx.init)(params)` does not do this on meshes
    with `Auto` axes: `zeros_like` does not depend on the param values, so
    XLA's sharding propagation leaves the moments on one device or
    replicated.) Meshes with `Explicit` axes are entered (`jax.set_mesh`) for
    the call.

    Args:
      tx: the optimizer.
      params: the params as sharded `jax.Array` values.
      mesh: as in `state_sharding`.

    Returns:
      The state `tx.init(params)`, each leaf with the sharding `state_sharding` gives it.
    """
    shardings = state_sharding(tx, params, mesh=mesh)
    init = jax.jit(tx.init, out_shardings=shardings)
    if mesh is None:
        mesh = _find_mesh([_sharding_of(leaf) for leaf in jax.tree.leaves(params)])
    explicit = mesh is not None and any(t == jax.sharding.AxisType.Explicit for t in mesh.axis_types)
    if explicit:
        assert mesh is not None
        with jax.set_mesh(mesh):
            return init(params)
    return init(params)


def bytes_per_device(tree: Any, device: Any | None = None) -> int:
    """Bytes of the arrays of `tree` stored on `device` (default: `jax.devices()[0]`).

    Counts the addressable shards of each `jax.Array` placed on `device` (a
    replicated leaf counts in full, a leaf sharded `n` ways counts `1/n`);
    NumPy arrays count in full.
    """
    device = device if device is not None else jax.devices()[0]
    total = 0
    for leaf in jax.tree.leaves(tree):
        if isinstance(leaf, jax.Array):
            total += sum(shard.data.nbytes for shard in leaf.addressable_shards if shard.device == device)
        else:
            total += np.asarray(leaf).nbytes
    return int(total)
