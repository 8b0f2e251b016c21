"""Checkpoints: numpy and orbax round-trips, bit-identical resume, metadata, changed trees, migration."""

from __future__ import annotations

import functools
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from gdx import checkpoint
from gdx.checkpoint import OptimizerSpec
from tests.test_contract import quadratic_loss

BACKENDS = {
    "numpy": (lambda d: str(d / "ckpt.npz"), checkpoint.save, checkpoint.restore),
    "orbax": (lambda d: str(d / "ckpt"), checkpoint.save_orbax, checkpoint.restore_orbax),
}


def _params():
    return {
        "dense": {"kernel": jnp.arange(6, dtype=jnp.float32).reshape(2, 3) / 7, "bias": jnp.ones(3)},
        "emb": jnp.full((2, 2), 0.3, jnp.bfloat16),
    }


def _assert_trees_identical(got, want):
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert a.dtype == b.dtype and a.shape == b.shape, (a, b)
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _mixed_transformations():
    """States with a PRNG key, MaskedNode/None-like empty nodes, hyperparams, accumulators."""
    return {
        "noisy": gdx.noisy_sgd(0.1, key=jax.random.key(3)),
        "masked": gdx.masked(gdx.adam(0.1), {"dense": {"kernel": True, "bias": False}, "emb": False}),
        "partition": gdx.partition(
            {"fast": gdx.adam(0.1), "slow": gdx.sgd(0.01, momentum=0.9)},
            {"dense": {"kernel": "fast", "bias": "slow"}, "emb": "slow"},
        ),
        "inject": gdx.inject_hyperparams(gdx.adamw)(learning_rate=0.1, weight_decay=0.01),
        "multisteps": gdx.MultiSteps(gdx.adam(0.1), every_k_schedule=3),
    }


@functools.cache
def _mixed_states():
    """One update of each mixed transformation (computed once, shared by both backends)."""
    params = _params()
    txs = _mixed_transformations()
    grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
    states = {name: tx.update(grads, tx.init(params), params)[1] for name, tx in txs.items()}
    return params, txs, states


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_round_trip_of_bf16_prng_key_masked_partition_inject_and_multisteps_state(tmp_path, backend):
    where, save, restore = BACKENDS[backend]
    params, txs, states = _mixed_states()
    path = where(tmp_path)
    save(path, params, states, extra={"epoch": 2})
    like = {name: tx.init(params) for name, tx in txs.items()}
    restored = restore(path, jax.tree.map(jnp.zeros_like, params), like)
    _assert_trees_identical(restored.params, params)
    _assert_trees_identical(restored.opt_state, states)
    assert restored.params["emb"].dtype == jnp.bfloat16
    assert restored.metadata["extra"] == {"epoch": 2}
    assert checkpoint.read_metadata(path)["leaves"]["['params']['emb']"]["encoding"] == "bits"


def test_restore_into_eval_shape_structs(tmp_path):
    params = _params()
    tx = gdx.noisy_sgd(0.1, key=1)
    state = tx.init(params)
    checkpoint.save(tmp_path / "c.npz", params, state)
    like_params = jax.eval_shape(lambda: params)
    restored = checkpoint.restore(tmp_path / "c.npz", like_params, jax.eval_shape(tx.init, like_params))
    _assert_trees_identical(restored.opt_state, state)


# --- resume: stop at step k, save, restore in a fresh tx, resume; bit-identical ----------------

SCHEDULE = gdx.warmup_cosine_decay_schedule(0.0, 0.05, 3, 10)
RESUME_CASES = {
    "adam": OptimizerSpec("adam", 0.05),
    "adamw_schedule": OptimizerSpec("adamw", learning_rate=SCHEDULE, weight_decay=0.01),
    "chain_clip_adamw": OptimizerSpec(
        "chain", OptimizerSpec("clip_by_global_norm", 1.0), OptimizerSpec("adamw", 0.05)
    ),
    "multisteps_adam": OptimizerSpec("MultiSteps", OptimizerSpec("adam", 0.05), every_k_schedule=2),
    "noisy_sgd": OptimizerSpec("noisy_sgd", 0.01, key=7),
}
STEPS, STOP = 6, 3


def _quadratic_params():
    return {"w": jnp.array([1.0, -2.0, 0.5], jnp.float32), "b": jnp.array(0.3, jnp.float32)}


def _train(tx, params, state, steps):
    @jax.jit
    def run(params, state):
        def body(carry, _):
            params, state = carry
            updates, state = tx.update(jax.grad(quadratic_loss)(params), state, params)
            return (gdx.apply_updates(params, updates), state), None

        return jax.lax.scan(body, (params, state), None, length=steps)[0]

    return run(params, state)


@pytest.mark.parametrize("name", list(RESUME_CASES))
def test_resume_is_bit_identical_to_the_uninterrupted_run(tmp_path, name):
    spec = RESUME_CASES[name]
    overrides = {"learning_rate": SCHEDULE} if name == "adamw_schedule" else {}
    tx = spec.build(**overrides)
    params = _quadratic_params()
    full_params, full_state = _train(tx, params, tx.init(params), STEPS)

    half_params, half_state = _train(tx, params, tx.init(params), STOP)
    checkpoint.save(tmp_path / "c.npz", half_params, half_state, spec=spec)
    del tx, half_params, half_state

    metadata = checkpoint.read_metadata(tmp_path / "c.npz")
    fresh_tx = OptimizerSpec.from_json(metadata["optimizer"]).build(**overrides)  # rebuilt from metadata
    like = _quadratic_params()
    restored = checkpoint.restore(tmp_path / "c.npz", like, fresh_tx.init(like), expected_spec=spec)
    resumed_params, resumed_state = _train(fresh_tx, restored.params, restored.opt_state, STEPS - STOP)
    _assert_trees_identical(resumed_params, full_params)
    _assert_trees_identical(resumed_state, full_state)


def test_orbax_resume_is_bit_identical(tmp_path):
    tx = gdx.chain(gdx.clip_by_global_norm(1.0), gdx.adamw(0.05))
    params = _quadratic_params()
    full = _train(tx, params, tx.init(params), STEPS)
    half = _train(tx, params, tx.init(params), STOP)
    checkpoint.save_orbax(tmp_path / "c", *half)
    restored = checkpoint.restore_orbax(tmp_path / "c", params, tx.init(params))
    _assert_trees_identical(_train(tx, restored.params, restored.opt_state, STEPS - STOP), full)


# --- metadata and the optimizer spec -------------------------------------------------------


def test_metadata_records_schema_gdx_version_optimizer_and_step(tmp_path):
    spec = OptimizerSpec("adamw", learning_rate=1e-3, weight_decay=0.01)
    tx = spec.build()
    params = _quadratic_params()
    _, state = _train(tx, params, tx.init(params), 4)
    checkpoint.save(tmp_path / "c.npz", params, state, spec=spec, extra={"data_position": 128})
    metadata = checkpoint.read_metadata(tmp_path / "c.npz")
    assert metadata["schema_version"] == checkpoint.SCHEMA_VERSION == 1
    assert metadata["gdx_version"] == gdx.__version__
    assert metadata["step"] == 4  # inferred from the state's count
    assert metadata["optimizer"]["__optimizer_spec__"] == "adamw"
    assert metadata["optimizer"]["kwargs"] == {"learning_rate": 1e-3, "weight_decay": 0.01}
    assert metadata["extra"] == {"data_position": 128}
    json.dumps(metadata)  # plain JSON
    checkpoint.save(tmp_path / "d.npz", params, state, step=1000)
    assert checkpoint.read_metadata(tmp_path / "d.npz")["step"] == 1000


def test_spec_builds_the_optimizer_and_round_trips_through_json():
    spec = OptimizerSpec("adamw", learning_rate=1e-3, weight_decay=0.01)
    params = _quadratic_params()
    grads = jax.grad(quadratic_loss)(params)
    want, _ = gdx.adamw(1e-3, weight_decay=0.01).update(grads, gdx.adamw(1e-3).init(params), params)
    tx = OptimizerSpec.from_json(json.loads(json.dumps(spec.to_json()))).build()
    got, _ = tx.update(grads, tx.init(params), params)
    _assert_trees_identical(got, want)
    assert OptimizerSpec.from_json(spec.to_json()) == spec


def test_spec_with_a_schedule_records_its_repr_and_requires_it_again():
    spec = OptimizerSpec("adam", learning_rate=SCHEDULE)
    assert spec.to_json()["kwargs"]["learning_rate"] == {"__callable__": repr(SCHEDULE)}
    restored = OptimizerSpec.from_json(json.loads(json.dumps(spec.to_json())))
    with pytest.raises(ValueError, match=r"learning_rate.*callable.*build\(learning_rate=\.\.\.\)"):
        restored.build()
    restored.build(learning_rate=SCHEDULE)
    with pytest.raises(TypeError, match="not JSON-able"):
        OptimizerSpec("adam", 0.1, b1=object()).to_json()
    with pytest.raises(ValueError, match="no factory named 'adamm'"):
        OptimizerSpec("adamm", 0.1).build()


def test_expected_spec_mismatch_lists_the_differing_hyperparameters(tmp_path):
    tx = gdx.adamw(1e-3, weight_decay=0.01)
    params = _quadratic_params()
    saved = OptimizerSpec("adamw", learning_rate=1e-3, weight_decay=0.01)
    checkpoint.save(tmp_path / "c.npz", params, tx.init(params), spec=saved)
    other = OptimizerSpec("adamw", learning_rate=3e-4, weight_decay=0.01, b2=0.95)
    with pytest.raises(ValueError, match="another optimizer") as error:
        checkpoint.restore(tmp_path / "c.npz", params, tx.init(params), expected_spec=other)
    assert "learning_rate: 0.001 != 0.0003" in str(error.value)
    assert "b2: <absent> != 0.95" in str(error.value)
    assert "weight_decay" not in str(error.value).split("saved:")[0]
    # A schedule compares equal to a schedule (its repr differs between processes).
    scheduled = OptimizerSpec("adam", learning_rate=SCHEDULE)
    assert scheduled == OptimizerSpec("adam", learning_rate=lambda count: 0.1)
    checkpoint.save(tmp_path / "e.npz", params, tx.init(params))
    with pytest.raises(ValueError, match="records none"):
        checkpoint.restore(tmp_path / "e.npz", params, tx.init(params), expected_spec=saved)


# --- changed param trees -------------------------------------------------------------------


def _old_and_new_params():
    old = {"layer1": {"w": jnp.ones((2, 2))}, "layer2": {"w": jnp.ones(3)}, "head": jnp.ones(4)}
    new = {
        "layer1": {"w": jnp.zeros((2, 2))},  # kept
        "layer3": {"w": jnp.zeros(5)},  # added (layer2 removed)
        "head": jnp.zeros(6),  # shape changed
    }
    return old, new


def test_restoring_into_a_changed_tree_lists_every_differing_path(tmp_path):
    old, new = _old_and_new_params()
    tx = gdx.chain(gdx.clip_by_global_norm(1.0), gdx.adam(0.1))
    checkpoint.save(tmp_path / "c.npz", old, tx.init(old))
    with pytest.raises(ValueError) as error:
        checkpoint.restore(tmp_path / "c.npz", new, tx.init(new))
    message = str(error.value)
    for fragment in (
        "added (not in the checkpoint): ['params']['layer3']['w']",
        "added (not in the checkpoint): ['opt_state'][1][0].mu['layer3']['w']",
        "removed (only in the checkpoint): ['params']['layer2']['w']",
        "removed (only in the checkpoint): ['opt_state'][1][0].nu['layer2']['w']",
        "shape/dtype changed: ['params']['head']: float32[4] -> float32[6]",
        "restore_partial",
    ):
        assert fragment in message, (fragment, message)
    bf16 = {**old, "head": old["head"].astype(jnp.bfloat16)}
    with pytest.raises(ValueError, match=r"\['params'\]\['head'\]: float32\[4\] -> bfloat16\[4\]"):
        checkpoint.restore(tmp_path / "c.npz", bf16, tx.init(bf16))


def _trained(tx, params):
    state = tx.init(params)
    grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
    update = jax.jit(tx.update)
    for _ in range(2):
        _, state = update(grads, state, params)
    return state


def test_grow_state_keeps_old_leaves_and_initializes_new_ones_in_nested_states():
    old, new = _old_and_new_params()
    tx = gdx.chain(
        gdx.clip_by_global_norm(1.0),
        gdx.masked(gdx.adam(0.1), lambda p: jax.tree.map(lambda _: True, p)),
        gdx.inject_hyperparams(gdx.sgd)(learning_rate=0.1, momentum=0.9),
    )
    old_state = _trained(tx, old)
    grown = checkpoint.grow_state(tx, old_state, new)
    fresh = tx.init(new)
    assert jax.tree.structure(grown) == jax.tree.structure(fresh)
    adam_old, adam_grown = old_state[1].inner_state[0], grown[1].inner_state[0]
    np.testing.assert_array_equal(adam_grown.mu["layer1"]["w"], adam_old.mu["layer1"]["w"])
    assert int(adam_grown.count) == int(adam_old.count) == 2
    np.testing.assert_array_equal(adam_grown.mu["layer3"]["w"], jnp.zeros(5))  # new layer: fresh
    np.testing.assert_array_equal(adam_grown.nu["head"], jnp.zeros(6))  # reshaped: fresh
    np.testing.assert_array_equal(
        grown[2].inner_state[0].trace["layer1"]["w"], old_state[2].inner_state[0].trace["layer1"]["w"]
    )
    # and it trains on
    jax.jit(tx.update)(jax.tree.map(jnp.ones_like, new), grown, new)


def test_restore_partial_from_a_file(tmp_path):
    old, new = _old_and_new_params()
    tx = gdx.adam(0.1)
    old_state = _trained(tx, old)
    checkpoint.save(tmp_path / "c.npz", old, old_state)
    restored = checkpoint.restore_partial(tmp_path / "c.npz", tx, new)
    np.testing.assert_array_equal(restored.params["layer1"]["w"], old["layer1"]["w"])
    np.testing.assert_array_equal(restored.params["layer3"]["w"], new["layer3"]["w"])
    np.testing.assert_array_equal(restored.opt_state[0].mu["layer1"]["w"], old_state[0].mu["layer1"]["w"])
    np.testing.assert_array_equal(restored.opt_state[0].mu["layer3"]["w"], jnp.zeros(5))
    assert "['params']['layer3']['w']" in restored.diff.added
    assert "['params']['layer2']['w']" in restored.diff.removed
    assert any(line.startswith("['params']['head']") for line in restored.diff.changed)


# --- migrations and foreign files ----------------------------------------------------------


def _slash_key(key_path) -> str:
    return "/".join(str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in key_path)


def _write_version_0(path, params, state):
    """A made-up old layout: '/'-joined keys, no leaf index, hyperparameters under another name."""
    leaves = jax.tree_util.tree_flatten_with_path({"params": params, "opt_state": state})[0]
    arrays = {_slash_key(key_path): np.asarray(leaf) for key_path, leaf in leaves}
    metadata = {"schema_version": 0, "hyperparameters": {"name": "adam", "learning_rate": 0.1}}
    np.savez(path, __gdx_metadata__=np.array(json.dumps(metadata)), **arrays)


def _migrate_0_to_1(metadata, arrays):
    """What a real migration would do: rename the keys, build the leaf index and the spec."""
    like = {"params": _quadratic_params(), "opt_state": gdx.adam(0.1).init(_quadratic_params())}
    new_keys = {
        _slash_key(key_path): jax.tree_util.keystr(key_path)
        for key_path, _ in jax.tree_util.tree_flatten_with_path(like)[0]
    }
    arrays = {new_keys[k]: v for k, v in arrays.items()}
    index = {k: {"shape": list(v.shape), "dtype": str(v.dtype), "encoding": "raw"} for k, v in arrays.items()}
    hyperparameters = metadata.pop("hyperparameters")
    name = hyperparameters.pop("name")
    metadata.update(
        schema_version=1,
        gdx_version="0.0.0",
        optimizer=OptimizerSpec(name, **hyperparameters).to_json(),
        step=None,
        extra=None,
        leaves=index,
    )
    return metadata, arrays


def test_migration_hook_upgrades_a_version_0_checkpoint(tmp_path):
    params = _quadratic_params()
    tx = gdx.adam(0.1)
    _, state = _train(tx, params, tx.init(params), 2)
    _write_version_0(tmp_path / "old.npz", params, state)
    with pytest.raises(ValueError, match="no migration from schema version 0"):
        checkpoint.restore(tmp_path / "old.npz", params, tx.init(params))
    restored = checkpoint.restore(
        tmp_path / "old.npz",
        params,
        tx.init(params),
        migrations={0: _migrate_0_to_1},
        expected_spec=OptimizerSpec("adam", learning_rate=0.1),
    )
    _assert_trees_identical(restored.opt_state, state)
    assert restored.metadata["schema_version"] == 1


def test_newer_schema_and_foreign_files_are_clear_errors(tmp_path):
    params = _quadratic_params()
    np.savez(tmp_path / "plain.npz", w=np.ones(3))
    with pytest.raises(ValueError, match="not a gdx checkpoint"):
        checkpoint.restore(tmp_path / "plain.npz", params, None)
    metadata = {"schema_version": 99, "leaves": {}}
    np.savez(tmp_path / "future.npz", __gdx_metadata__=np.array(json.dumps(metadata)))
    with pytest.raises(ValueError, match="newer gdx"):
        checkpoint.restore(tmp_path / "future.npz", params, None)


def test_missing_orbax_gives_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "orbax.checkpoint", None)
    monkeypatch.setitem(sys.modules, "orbax", None)
    with pytest.raises(ImportError, match=r'pip install "gdx\[checkpoint\]"'):
        checkpoint.save_orbax(tmp_path / "c", _quadratic_params(), None)


def test_save_is_atomic_and_the_npz_suffix_optional(tmp_path, monkeypatch):
    params = _quadratic_params()
    tx = gdx.adam(0.1)
    checkpoint.save(tmp_path / "c", params, tx.init(params), step=1)  # numpy would name it c.npz
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]
    assert checkpoint.read_metadata(tmp_path / "c")["step"] == 1

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(tmp_path / "c.npz", params, tx.init(params), step=2)
    assert checkpoint.read_metadata(tmp_path / "c.npz")["step"] == 1  # the old file is intact


def test_step_is_inferred_from_the_optimizer_count_not_from_micro_steps(tmp_path):
    params = _quadratic_params()
    tx = gdx.apply_if_finite(gdx.MultiSteps(gdx.adam(0.1), every_k_schedule=2), max_consecutive_errors=2)
    _, state = _train(tx, params, tx.init(params), 5)
    checkpoint.save(tmp_path / "c.npz", params, state)
    # 5 mini-batches with k=2: 2 optimizer steps (gradient_step), not mini_step or notfinite_count
    assert checkpoint.read_metadata(tmp_path / "c.npz")["step"] == 2


def test_restore_places_leaves_with_the_sharding_of_the_like_tree(tmp_path):
    mesh = jax.sharding.Mesh(np.array(jax.devices()[:8]), ("data",))
    sharded = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
    params = {"w": jax.device_put(jnp.arange(16, dtype=jnp.float32), sharded)}
    tx = gdx.adam(0.1)
    state = jax.jit(tx.update)(params, tx.init(params), params)[1]
    checkpoint.save(tmp_path / "c.npz", params, state)
    restored = checkpoint.restore(tmp_path / "c.npz", params, tx.init(params))
    assert restored.params["w"].sharding == sharded
    assert restored.opt_state[0].mu["w"].sharding == tx.init(params)[0].mu["w"].sharding
    _assert_trees_identical(restored.opt_state, state)
