"""Checkpoints of composed optimizers (chain, MultiSteps, partition, inject_hyperparams), of Flax NNX
models with their `nnx.Optimizer`, and clear errors for damaged files."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import gdx
from gdx import checkpoint
from gdx.checkpoint import OptimizerSpec
from gdx.checkpoint._format import infer_step

SCHEDULE = gdx.warmup_cosine_decay_schedule(0.0, 0.05, 2, 20)
SCHEDULE_SPEC = OptimizerSpec("warmup_cosine_decay_schedule", 0.0, 0.05, 2, 20)  # recorded, rebuilt
RULES = [(r"bias$", "no_decay"), (".*", "decay")]


def _params():
    return {
        "fc": {"bias": jnp.full((3,), 0.5), "kernel": jnp.arange(6.0).reshape(2, 3) / 6},
        "scale": jnp.ones(()),
    }


def _grads(step, params):
    return jax.tree.map(lambda p: jnp.cos(p * (step + 1)) + 0.1 * p, params)


def _train(tx, params, state, first_step, steps):
    update = jax.jit(tx.update)
    for step in range(first_step, first_step + steps):
        updates, state = update(_grads(step, params), state, params)
        params = gdx.apply_updates(params, updates)
    return params, state


def _composed_spec():
    """MultiSteps(chain(clip, partition(adamw with decay, inject_hyperparams(adam)) by regex), k=2)."""
    return OptimizerSpec(
        "MultiSteps",
        OptimizerSpec(
            "chain",
            OptimizerSpec("clip_by_global_norm", 1.0),
            OptimizerSpec(
                "partition",
                {
                    "decay": OptimizerSpec("adamw", learning_rate=SCHEDULE_SPEC, weight_decay=0.1),
                    "no_decay": OptimizerSpec(
                        "inject_hyperparams", OptimizerSpec("adam", learning_rate=0.02)
                    ),
                },
                RULES,
            ),
        ),
        every_k_schedule=2,
    )


def _composed_tx():
    return gdx.MultiSteps(
        gdx.chain(
            gdx.clip_by_global_norm(1.0),
            gdx.partition(
                {
                    "decay": gdx.adamw(learning_rate=SCHEDULE, weight_decay=0.1),
                    "no_decay": gdx.inject_hyperparams(gdx.adam)(learning_rate=0.02),
                },
                RULES,
            ),
        ),
        every_k_schedule=2,
    )


def _assert_identical(got, expected):
    assert jax.tree.structure(got) == jax.tree.structure(expected)
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(got), jax.tree.leaves(expected)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=jax.tree_util.keystr(path))


# --- composed specs ------------------------------------------------------------------------------


def test_a_chain_spec_without_members_is_rejected_not_built_empty():
    with pytest.raises(ValueError, match=r"OptimizerSpec\('chain'\) has no members.*list the member specs"):
        OptimizerSpec("MultiSteps", opt=OptimizerSpec("chain"), every_k_schedule=4)
    with pytest.raises(ValueError, match="has no members"):
        OptimizerSpec("named_chain")


def test_inject_hyperparams_spec_needs_the_inner_spec_first():
    with pytest.raises(ValueError, match=r"inject_hyperparams.*OptimizerSpec\('adamw'"):
        OptimizerSpec("inject_hyperparams", "adamw", learning_rate=1e-3)


def test_inject_hyperparams_spec_builds_the_injected_optimizer():
    spec = OptimizerSpec("inject_hyperparams", OptimizerSpec("adamw", learning_rate=0.1, weight_decay=0.01))
    state = spec.build().init(_params())
    expected = gdx.inject_hyperparams(gdx.adamw)(learning_rate=0.1, weight_decay=0.01).init(_params())
    assert jax.tree.structure(state) == jax.tree.structure(expected)
    np.testing.assert_allclose(state.hyperparams["weight_decay"], 0.01)
    schedule = gdx.exponential_decay(0.2, 5, 0.5)
    overridden = spec.build(learning_rate=schedule).init(_params())  # a schedule passed again at build
    np.testing.assert_array_equal(overridden.hyperparams["learning_rate"], schedule(0))


def test_composed_spec_round_trips_through_json_and_builds_the_same_optimizer():
    spec = _composed_spec()
    saved = json.loads(json.dumps(spec.to_json()))
    rebuilt = OptimizerSpec.from_json(saved)
    assert rebuilt == spec
    partition_spec = rebuilt.args[0].args[1]
    assert partition_spec.args[1] == [("bias$", "no_decay"), (".*", "decay")]  # tuples again, so rules
    params = _params()
    tx, expected_tx = rebuilt.build(), _composed_tx()
    got = _train(tx, params, tx.init(params), 0, 6)
    expected = _train(expected_tx, params, expected_tx.init(params), 0, 6)
    _assert_identical(got, expected)


def test_tuples_saved_as_lists_by_an_earlier_gdx_compare_equal():
    legacy = OptimizerSpec("named_chain", ["clip", OptimizerSpec("clip", 1.0)])
    assert not checkpoint.spec_differences(
        legacy, OptimizerSpec("named_chain", ("clip", OptimizerSpec("clip", 1.0)))
    )


def test_composed_checkpoint_resumes_bit_identically_and_records_the_step(tmp_path):
    spec, params = _composed_spec(), _params()
    tx = spec.build()
    mid_params, mid_state = _train(tx, params, tx.init(params), 0, 5)
    checkpoint.save(tmp_path / "c.npz", mid_params, mid_state, spec=spec)
    metadata = checkpoint.read_metadata(tmp_path / "c.npz")
    assert metadata["step"] == 2  # 5 mini-batches with k=2: gradient_step (and every inner count) is 2

    fresh = OptimizerSpec.from_json(metadata["optimizer"]).build()
    restored = checkpoint.restore(tmp_path / "c.npz", params, fresh.init(params), expected_spec=spec)
    resumed = _train(fresh, restored.params, restored.opt_state, 5, 4)
    uninterrupted = _train(tx, params, tx.init(params), 0, 9)
    _assert_identical(resumed, uninterrupted)


def test_step_is_found_in_multisteps_chain_partition():
    params = _params()
    tx = _composed_tx()
    _, state = _train(tx, params, tx.init(params), 0, 7)
    assert infer_step(state) == 3  # 7 mini-batches, k=2: gradient_step 3 (mini_step is not a step)


def test_step_is_found_in_nnx_optimizer_states():
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, _composed_tx(), wrt=nnx.Param)
    _nnx_train(model, optimizer, 0, 5)
    assert infer_step(optimizer.opt_state) == 2  # nnx.Variable leaves: ".gradient_step.value"
    assert infer_step(nnx.state(optimizer)) == 5  # ['step'].value, nnx.Optimizer's uint32 update count
    assert infer_step(nnx.to_pure_dict(nnx.state(optimizer))["opt_state"]) == 2  # ['gradient_step']


# --- Flax NNX: model + nnx.Optimizer ------------------------------------------------------------


class MLP(nnx.Module):
    def __init__(self, rngs):
        self.fc = nnx.Linear(4, 8, rngs=rngs)
        self.out = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(jnp.tanh(self.fc(x)))


NNX_SPEC = OptimizerSpec(
    "chain",
    OptimizerSpec("clip_by_global_norm", 1.0),
    OptimizerSpec(
        "partition",
        {"decay": OptimizerSpec("adamw", 1e-2, weight_decay=0.1), "no_decay": OptimizerSpec("adam", 1e-2)},
        RULES,
    ),
)


def _nnx_fresh():
    model = MLP(nnx.Rngs(0))
    return model, nnx.Optimizer(model, NNX_SPEC.build(), wrt=nnx.Param)


@nnx.jit
def _nnx_step(model, optimizer, x, y):
    grads = nnx.grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
    optimizer.update(model, grads)


def _nnx_train(model, optimizer, first_step, steps):
    for step in range(first_step, first_step + steps):
        x = jax.random.normal(jax.random.key(step), (16, 4))
        _nnx_step(model, optimizer, x, jnp.sin(x).sum(axis=1, keepdims=True))


def test_nnx_model_and_optimizer_resume_bit_identically(tmp_path):
    model, optimizer = _nnx_fresh()
    _nnx_train(model, optimizer, 0, 3)
    # The recipe of the gdx.checkpoint docstring:
    checkpoint.save(tmp_path / "nnx.npz", nnx.state(model), nnx.state(optimizer), spec=NNX_SPEC)
    assert checkpoint.read_metadata(tmp_path / "nnx.npz")["step"] == 3  # optimizer.step

    model, optimizer = _nnx_fresh()
    restored = checkpoint.restore(
        tmp_path / "nnx.npz", nnx.state(model), nnx.state(optimizer), expected_spec=NNX_SPEC
    )
    nnx.update(model, restored.params)
    nnx.update(optimizer, restored.opt_state)
    assert int(optimizer.step[...]) == 3
    _nnx_train(model, optimizer, 3, 3)

    reference_model, reference_optimizer = _nnx_fresh()
    _nnx_train(reference_model, reference_optimizer, 0, 6)
    assert int(optimizer.step[...]) == int(reference_optimizer.step[...]) == 6
    _assert_identical(nnx.to_pure_dict(nnx.state(model)), nnx.to_pure_dict(nnx.state(reference_model)))
    _assert_identical(
        nnx.to_pure_dict(nnx.state(optimizer)), nnx.to_pure_dict(nnx.state(reference_optimizer))
    )


# --- damaged files ------------------------------------------------------------------------------


@pytest.fixture
def saved_file(tmp_path):
    params = _params()
    tx = gdx.adam(0.1)
    path = tmp_path / "c.npz"
    checkpoint.save(path, params, tx.init(params), spec=OptimizerSpec("adam", 0.1))
    return path, params, tx.init(params)


def _damage_truncate(data):
    return data[: len(data) // 2]


def _damage_flip_payload(data):
    data = bytearray(data)
    for offset in range(len(data) // 3, len(data) // 3 + 16):
        data[offset] ^= 0xFF
    return bytes(data)


def _damage_flip_header(data):
    data = bytearray(data)
    for offset in range(0, 8):
        data[offset] ^= 0xFF
    return bytes(data)


def _damage_flip_end(data):
    data = bytearray(data)
    for offset in range(len(data) - 30, len(data) - 10):
        data[offset] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    "damage",
    [_damage_truncate, _damage_flip_payload, _damage_flip_header, _damage_flip_end, lambda data: b""],
    ids=["truncated-half", "flipped-payload", "flipped-header", "flipped-directory", "empty"],
)
def test_a_damaged_file_raises_gdx_value_error_naming_the_file(saved_file, damage):
    path, params, state = saved_file
    path.write_bytes(damage(path.read_bytes()))
    for read in (lambda: checkpoint.restore(path, params, state), lambda: checkpoint.read_metadata(path)):
        with pytest.raises(ValueError, match=r"gdx\.checkpoint: .*c\.npz.* (corrupted|empty)") as info:
            read()
        assert type(info.value) is ValueError


def test_a_missing_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        checkpoint.read_metadata(tmp_path / "absent.npz")


def test_a_file_whose_leaves_do_not_match_its_metadata_is_corrupted(saved_file):
    path, params, state = saved_file
    with np.load(path) as data:
        contents = {name: data[name] for name in data.files}
    contents["['params']['fc']['bias']"] = np.zeros(5, np.float32)
    np.savez(path, **contents)
    with pytest.raises(ValueError, match=r"corrupted: leaf \['params'\]\['fc'\]\['bias'\] has shape \[5\]"):
        checkpoint.restore(path, params, state)
