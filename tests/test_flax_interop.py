"""gdx optimizers inside Flax's training APIs give the same numbers as optax's.

gdx and Flax NNX run under the suite's strict dtype promotion; the reference
optax runs (and Linen's `TrainState`, which calls `optax.apply_updates`) run
under standard promotion, which optax needs.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from flax.training import train_state
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import gdx
from tests.parity.harness import optax_promotion


def assert_trees_close(got, expected):
    assert jax.tree.structure(got) == jax.tree.structure(expected)
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, err_msg=jax.tree_util.keystr(path))


def run_with(library, function, *args):
    """Calls `function(*args)`; optax under standard promotion, gdx under the suite's strict one."""
    if library is optax:
        with optax_promotion():
            return function(*args)
    return function(*args)


def batch():
    x = jax.random.normal(jax.random.key(0), (16, 4))
    return x, jnp.sin(x).sum(axis=1, keepdims=True)


def train_nnx(tx, steps=5, model=None):
    """`steps` jitted steps of `tx` inside `nnx.Optimizer` on `batch()`; the model's params after.

    The model is `nnx.Linear(4, 1)` unless given (it must map (16, 4) inputs to (16, 1)).
    """
    model = nnx.Linear(4, 1, rngs=nnx.Rngs(0)) if model is None else model
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    x, y = batch()

    @nnx.jit
    def step(model, optimizer):
        grads = nnx.grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        optimizer.update(model, grads)

    for _ in range(steps):
        step(model, optimizer)
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


def train_linen_state(tx, steps=5):
    x, y = batch()
    params = {"w": jnp.ones((4, 1)) * 0.1, "b": jnp.zeros((1,))}
    state = train_state.TrainState.create(apply_fn=lambda p, x: x @ p["w"] + p["b"], params=params, tx=tx)

    @jax.jit
    def step(state):
        grads = jax.grad(lambda p: jnp.mean((state.apply_fn(p, x) - y) ** 2))(state.params)
        return state.apply_gradients(grads=grads)

    for _ in range(steps):
        state = step(state)
    return state.params


@pytest.mark.parametrize(
    "make", [lambda lib: lib.adamw(1e-2), lambda lib: lib.sgd(1e-2, momentum=0.9)], ids=["adamw", "sgd"]
)
def test_nnx_optimizer_matches_optax(make):
    got = run_with(gdx, train_nnx, make(gdx))
    expected = run_with(optax, train_nnx, make(optax))
    assert_trees_close(got, expected)


def test_linen_train_state_matches_optax():
    # TrainState.apply_gradients calls optax.apply_updates, so both sides need standard promotion.
    with optax_promotion():
        got, expected = train_linen_state(gdx.adam(1e-2)), train_linen_state(optax.adam(1e-2))
    assert_trees_close(got, expected)


# --- weight decay masked by Flax parameter paths -------------------------------------------


class NormedMLP(nnx.Module):
    def __init__(self, rngs):
        self.hidden = nnx.Linear(4, 8, rngs=rngs)
        self.norm = nnx.LayerNorm(8, rngs=rngs)
        self.output = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.output(jax.nn.gelu(self.norm(self.hidden(x))))


def kernels_only(params):
    """Mask from key paths: True where the last dict key is 'kernel' (not biases, not LayerNorm)."""

    def is_kernel(path, _):
        names = [entry.key for entry in path if isinstance(entry, jax.tree_util.DictKey)]
        return names[-1] == "kernel"

    return jax.tree_util.tree_map_with_path(is_kernel, params)


def masked_adamw(lib):
    return lib.chain(
        lib.clip_by_global_norm(1.0),
        lib.scale_by_adam(),
        lib.masked(lib.add_decayed_weights(0.5), kernels_only),
        lib.scale_by_learning_rate(lib.warmup_cosine_decay_schedule(0.0, 1e-2, 2, 10)),
    )


def test_path_mask_decays_kernels_only():
    model = NormedMLP(nnx.Rngs(1))
    optimizer = nnx.Optimizer(model, gdx.adamw(0.1, weight_decay=0.5, mask=kernels_only), wrt=nnx.Param)
    before = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    zero_grads = jax.tree.map(jnp.zeros_like, nnx.state(model, nnx.Param))
    updates = nnx.to_pure_dict(optimizer.update(model, zero_grads))
    for path, update in jax.tree_util.tree_leaves_with_path(updates):
        parameter = before
        for entry in path:
            parameter = parameter[entry.key]
        if path[-1].key == "kernel":  # zero gradient: the whole update is -lr * weight_decay * p
            np.testing.assert_allclose(update, -0.1 * 0.5 * parameter, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(
                update, np.zeros_like(parameter), err_msg=jax.tree_util.keystr(path)
            )


# --- a sharded model on a device mesh --------------------------------------------------------

PARAM_SPECS = {
    "hidden": {"kernel": P(None, "model"), "bias": P("model")},
    "norm": {"scale": P("model"), "bias": P("model")},
    "output": {"kernel": P("model", None), "bias": P()},
}


@pytest.fixture(scope="module")
def mesh():
    assert len(jax.devices()) == 8, "tests/conftest.py sets 8 fake CPU devices"
    return Mesh(np.array(jax.devices()).reshape(2, 4), ("data", "model"))


def sharded_model(mesh):
    model = NormedMLP(nnx.Rngs(2))
    params = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    nnx.update(
        model, jax.tree.map(lambda p, spec: jax.device_put(p, NamedSharding(mesh, spec)), params, PARAM_SPECS)
    )
    return model


def train_sharded(tx, mesh, steps=4):
    """Returns `(params, opt_state after init, opt_state after training)` as pure dicts of arrays."""
    model = sharded_model(mesh)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    initial_state = nnx.to_pure_dict(nnx.state(optimizer, nnx.OptState))
    x = jax.device_put(jax.random.normal(jax.random.key(3), (16, 4)), NamedSharding(mesh, P("data", None)))
    y = jnp.sin(x).sum(axis=1, keepdims=True)

    @nnx.jit
    def step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        optimizer.update(model, grads)
        return loss

    for _ in range(steps):
        step(model, optimizer, x, y)
    final_state = nnx.to_pure_dict(nnx.state(optimizer, nnx.OptState))
    return nnx.to_pure_dict(nnx.state(model, nnx.Param)), initial_state, final_state


def assert_sharded_like_params(state_moment, params):
    for (path, leaf), param in zip(
        jax.tree_util.tree_leaves_with_path(state_moment), jax.tree.leaves(params)
    ):
        assert leaf.sharding.is_equivalent_to(param.sharding, leaf.ndim), (
            f"{jax.tree_util.keystr(path)}: {leaf.sharding} vs the param's {param.sharding}"
        )


def test_sharded_nnx_optimizer_matches_optax_and_keeps_param_sharding(mesh):
    """clip + adam + weight decay masked by Flax paths + schedule, on params sharded over a 2x4 mesh."""
    params, initial_state, final_state = run_with(gdx, train_sharded, masked_adamw(gdx), mesh)
    expected_params, _, expected_state = run_with(optax, train_sharded, masked_adamw(optax), mesh)
    assert_trees_close(params, expected_params)
    assert_trees_close(final_state, expected_state)  # same layout as optax's, same numbers

    for name, spec in (("hidden", P(None, "model")), ("output", P("model", None))):
        assert params[name]["kernel"].sharding.is_equivalent_to(NamedSharding(mesh, spec), 2)
    initial_params = nnx.to_pure_dict(nnx.state(sharded_model(mesh), nnx.Param))
    adam_index = 1  # chain(clip, scale_by_adam, masked(...), scale_by_learning_rate)
    for state, reference in ((initial_state, initial_params), (final_state, params)):
        adam_state = state["opt_state"][adam_index]
        assert set(adam_state) == {"count", "mu", "nu"}
        for moments in (adam_state["mu"], adam_state["nu"]):
            assert_sharded_like_params(moments, reference)
