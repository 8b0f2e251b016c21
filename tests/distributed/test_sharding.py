"""`state_sharding` / `init_sharded`: the optimizer state is laid out like the params."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import gdx
from gdx.distributed import bytes_per_device, init_sharded, state_sharding

# Params split along different axes of a 4 x 2 mesh, and one replicated leaf.
SPECS = {"w": P("a", "b"), "v": P(None, "a"), "e": P("b"), "s": P()}
SHAPES = {"w": (8, 4), "v": (4, 16), "e": (16,), "s": (3,)}

OPTIMIZERS = {
    "adam": lambda: gdx.adam(0.1),
    "adamw": lambda: gdx.adamw(0.1),
    "sgd_momentum": lambda: gdx.sgd(0.1, momentum=0.9),
    "lamb": lambda: gdx.lamb(0.1),
    "adafactor": lambda: gdx.adafactor(0.1, min_dim_size_to_factor=4),  # factors w and v
    "multi_steps": lambda: gdx.MultiSteps(gdx.adam(0.1), every_k_schedule=2),
    "masked": lambda: gdx.masked(gdx.adam(0.1), {"w": True, "v": False, "e": True, "s": False}),
    "partition": lambda: gdx.partition(
        {"adam": gdx.adam(0.1), "sgd": gdx.sgd(0.1, momentum=0.9)},
        {"w": "adam", "v": "sgd", "e": "sgd", "s": "adam"},
    ),
}


def make_params(mesh):
    keys = jax.random.split(jax.random.key(0), len(SHAPES))
    return {
        name: jax.device_put(jax.random.normal(key, SHAPES[name]), NamedSharding(mesh, SPECS[name]))
        for key, name in zip(keys, SHAPES)
    }


def param_name_of(path):
    """The params key a param-shaped state leaf belongs to (its last dict key)."""
    keys = [entry.key for entry in path if isinstance(entry, jax.tree_util.DictKey) and entry.key in SHAPES]
    return keys[-1] if keys else None


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_init_sharded_places_moments_like_their_params_and_replicates_the_rest(name):
    mesh = jax.make_mesh((4, 2), ("a", "b"), axis_types=(AxisType.Auto,) * 2)
    tx = OPTIMIZERS[name]()
    params = make_params(mesh)
    state = init_sharded(tx, params)
    expected_state = tx.init(jax.device_get(params))
    assert jax.tree.structure(state) == jax.tree.structure(expected_state)
    np.testing.assert_equal(jax.device_get(state), jax.device_get(expected_state))

    shardings = state_sharding(tx, params)
    param_shaped = 0
    for (path, leaf), sharding in zip(jax.tree_util.tree_leaves_with_path(state), jax.tree.leaves(shardings)):
        assert leaf.sharding.is_equivalent_to(sharding, leaf.ndim), jax.tree_util.keystr(path)
        owner = param_name_of(path)
        if owner is not None and leaf.shape == SHAPES[owner]:
            param_shaped += 1
            assert leaf.sharding.is_equivalent_to(params[owner].sharding, leaf.ndim), jax.tree_util.keystr(
                path
            )
        else:  # counters, factored statistics, placeholders
            assert leaf.sharding.is_fully_replicated, jax.tree_util.keystr(path)
    assert param_shaped > 0
    if name == "adam":  # mu and nu of w are 8-way split: one device holds 1/8 of them
        mu_w = state[0].mu["w"]
        assert bytes_per_device(mu_w) == mu_w.nbytes // 8


@pytest.mark.parametrize("name", ["adam", "multi_steps", "masked"])
def test_plain_jit_init_on_an_explicit_mesh_agrees_with_state_sharding(name):
    # With Explicit mesh axes (jax.make_mesh's default) shardings are part of the array
    # types, so `zeros_like(param)` inside `jit(tx.init)` follows its param on its own;
    # `state_sharding` gives the same layout. (On Auto axes it does not: see init_sharded.)
    # Not Adafactor: there the types keep a factored row/col statistic split along the
    # param axis it keeps, where `state_sharding` replicates these small vectors.
    mesh = jax.make_mesh((4, 2), ("a", "b"), axis_types=(AxisType.Explicit,) * 2)
    tx = OPTIMIZERS[name]()
    params = make_params(mesh)
    with jax.set_mesh(mesh):
        state = jax.jit(tx.init)(params)
        sharded = init_sharded(tx, params)
    for leaf, other, sharding in zip(
        jax.tree.leaves(state), jax.tree.leaves(sharded), jax.tree.leaves(state_sharding(tx, params))
    ):
        assert leaf.sharding.is_equivalent_to(sharding, leaf.ndim)
        assert other.sharding.is_equivalent_to(sharding, leaf.ndim)


def test_state_sharding_takes_abstract_params_or_a_separate_sharding_tree():
    mesh = jax.make_mesh((4, 2), ("a", "b"), axis_types=(AxisType.Auto,) * 2)
    shardings = {name: NamedSharding(mesh, SPECS[name]) for name in SHAPES}
    abstract = {
        name: jax.ShapeDtypeStruct(SHAPES[name], jnp.float32, sharding=shardings[name]) for name in SHAPES
    }
    plain = {name: jax.ShapeDtypeStruct(SHAPES[name], jnp.float32) for name in SHAPES}
    tx = gdx.adam(0.1)
    from_abstract, from_tree = state_sharding(tx, abstract), state_sharding(tx, plain, shardings)
    assert from_abstract == from_tree
    assert from_tree[0].nu["v"] == shardings["v"] and from_tree[0].count == NamedSharding(mesh, P())
    with pytest.raises(ValueError, match="sharding"):
        state_sharding(tx, plain)
    with pytest.raises(ValueError, match="structure"):
        state_sharding(tx, plain, {"w": shardings["w"]})


def test_state_sharding_falls_back_to_shape_for_state_leaves_at_other_paths():
    mesh = jax.make_mesh((8,), ("x",), axis_types=(AxisType.Auto,))
    sharded = NamedSharding(mesh, P("x"))
    params = {"w": jax.ShapeDtypeStruct((16,), jnp.float32, sharding=sharded)}
    # A state whose param-shaped leaf does not sit under the param's key.
    tx = gdx.GradientTransformation(lambda p: {"buffer": jnp.zeros(16), "other": jnp.zeros(5)}, None)  # type: ignore[arg-type]
    shardings = state_sharding(tx, params)
    assert shardings["buffer"] == sharded and shardings["other"] == NamedSharding(mesh, P())
