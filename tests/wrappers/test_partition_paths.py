"""`partition` rules match the `/`-joined path, for Linen dicts and NNX states alike; `partition_labels`."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import gdx
from tests.parity.harness import optax_promotion
from tests.test_flax_interop import batch, train_nnx


class TwoLayers(nnx.Module):
    def __init__(self, rngs):
        self.fc = nnx.Linear(4, 8, rngs=rngs)
        self.out = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(jnp.tanh(self.fc(x)))


NNX_LABELS = {"fc/bias": "no_decay", "fc/kernel": "decay", "out/bias": "no_decay", "out/kernel": "decay"}


def _train_nnx(lib, param_labels, steps=5):
    """adamw with strong decay on the kernels, adam (no decay) on the biases, inside `nnx.Optimizer`."""
    transforms = {"decay": lib.adamw(1e-2, weight_decay=0.5), "no_decay": lib.adam(1e-2)}
    return train_nnx(lib.partition(transforms, param_labels), steps, model=TwoLayers(nnx.Rngs(0)))


@pytest.fixture(scope="module")
def optax_nnx_params():
    # optax with a label function that looks for the dict key "bias" (it sees nnx.Param leaves in init).
    def labels(params):
        def label(path, _):
            return "no_decay" if any(getattr(key, "key", None) == "bias" for key in path) else "decay"

        return jax.tree_util.tree_map_with_path(label, params)

    with optax_promotion():
        return _train_nnx(optax, labels)


@pytest.mark.parametrize("rule", [r"bias$", r"^(fc|out)/bias$", r"/bias"])
def test_anchored_rule_under_nnx_optimizer_gives_no_decay_to_the_biases(rule, optax_nnx_params):
    got = _train_nnx(gdx, [(rule, "no_decay"), (".*", "decay")])
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(got), jax.tree.leaves(optax_nnx_params)):
        np.testing.assert_array_equal(a, b, err_msg=jax.tree_util.keystr(path))


def test_biases_with_decay_differ_so_the_parity_above_is_about_the_labels(optax_nnx_params):
    everything_decays = _train_nnx(gdx, [(".*", "decay")])
    assert not np.array_equal(everything_decays["fc"]["bias"], optax_nnx_params["fc"]["bias"])
    np.testing.assert_array_equal(
        everything_decays["fc"]["kernel"].shape, optax_nnx_params["fc"]["kernel"].shape
    )


def test_partition_labels_of_an_nnx_state_and_of_its_pure_dict_agree():
    model = TwoLayers(nnx.Rngs(0))
    rules = [(r"bias$", "no_decay"), (".*", "decay")]
    state = nnx.state(model, nnx.Param)  # what nnx.Optimizer passes to init: nnx.Param leaves
    assert gdx.partition_labels(rules, state) == NNX_LABELS
    assert gdx.partition_labels(rules, nnx.as_pure(state)) == NNX_LABELS  # what it passes to update
    assert list(gdx.param_paths(state)) == list(NNX_LABELS)


def test_partition_labels_with_a_label_function_and_a_label_prefix_tree():
    params = {"enc": {"bias": jnp.zeros(2), "kernel": jnp.ones((2, 2))}, "head": [jnp.ones(1), jnp.ones(2)]}
    by_rank = lambda p: jax.tree.map(lambda leaf: "matrix" if leaf.ndim == 2 else "vector", p)
    assert gdx.partition_labels(by_rank, params) == {
        "enc/bias": "vector",
        "enc/kernel": "matrix",
        "head/0": "vector",
        "head/1": "vector",
    }
    assert gdx.partition_labels({"enc": "a", "head": "b"}, params) == {
        "enc/bias": "a",
        "enc/kernel": "a",
        "head/0": "b",
        "head/1": "b",
    }


def test_partition_labels_lists_the_unmatched_leaves():
    with pytest.raises(ValueError, match=r"no rule matches the params at \['fc/kernel'\]"):
        gdx.partition_labels([(r"bias$", "no_decay")], {"fc": {"bias": jnp.zeros(1), "kernel": jnp.zeros(1)}})


class LinenMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(1)(jnp.tanh(nn.Dense(8)(x)))


def _train_linen(lib, param_labels, steps=5):
    x, y = batch()
    params = LinenMLP().init(jax.random.key(0), x)["params"]
    tx = lib.partition({"decay": lib.adamw(1e-2, weight_decay=0.5), "no_decay": lib.adam(1e-2)}, param_labels)
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.grad(lambda p: jnp.mean((LinenMLP().apply({"params": p}, x) - y) ** 2))(params)
        updates, state = tx.update(grads, state, params)
        return lib.apply_updates(params, updates), state

    for _ in range(steps):
        params, state = step(params, state)
    return params


@pytest.mark.parametrize("rule", [r"bias$", r"^Dense_\d/bias$"])
def test_the_same_rules_work_on_a_linen_param_dict(rule):
    labels = {
        "Dense_0": {"bias": "no_decay", "kernel": "decay"},
        "Dense_1": {"bias": "no_decay", "kernel": "decay"},
    }
    with optax_promotion():
        expected = _train_linen(optax, labels)
    got = _train_linen(gdx, [(rule, "no_decay"), (".*", "decay")])
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(got), jax.tree.leaves(expected)):
        np.testing.assert_array_equal(a, b, err_msg=jax.tree_util.keystr(path))


def test_linen_partitioned_boxes_do_not_add_value_to_the_path():
    params = {"Dense_0": {"kernel": nn.Partitioned(jnp.ones((2, 2)), names=("a", "b")), "bias": jnp.zeros(2)}}
    assert gdx.partition_labels([(r"^Dense_0/kernel$", "k"), (".*", "rest")], params) == {
        "Dense_0/kernel": "k",
        "Dense_0/bias": "rest",
    }


def test_keystr_rules_of_earlier_gdx_still_match_also_under_nnx():
    model = TwoLayers(nnx.Rngs(0))
    labels = gdx.partition_labels(
        [(r"\['bias'\]$", "no_decay"), (".*", "decay")], nnx.state(model, nnx.Param)
    )
    assert labels == NNX_LABELS


def test_label_by_regex_on_plain_dicts_keeps_the_tree_structure():
    params = {"a": {"bias": jnp.zeros(1)}, "b": (jnp.zeros(1), jnp.zeros(2))}
    labels = gdx.label_by_regex([(r"bias$", "x"), (r"^b/1$", "y"), (".*", "z")])(params)
    assert labels == {"a": {"bias": "x"}, "b": ("z", "y")}
