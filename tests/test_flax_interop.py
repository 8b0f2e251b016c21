"""gdx optimizers inside Flax's training APIs give the same numbers as optax's.

Flax's own code is not strict-promotion clean, so these run under standard promotion.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from flax.training import train_state

import gdx

pytestmark = pytest.mark.usefixtures("standard_promotion")


@pytest.fixture
def standard_promotion():
    with jax.numpy_dtype_promotion("standard"):
        yield


def batch():
    x = jax.random.normal(jax.random.key(0), (16, 4))
    return x, jnp.sin(x).sum(axis=1, keepdims=True)


def train_nnx(tx, steps=5):
    model = nnx.Linear(4, 1, rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    x, y = batch()

    @nnx.jit
    def step(model, optimizer):
        grads = nnx.grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        optimizer.update(model, grads)

    for _ in range(steps):
        step(model, optimizer)
    return nnx.state(model, nnx.Param)


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
    got, expected = train_nnx(make(gdx)), train_nnx(make(optax))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_linen_train_state_matches_optax():
    got, expected = train_linen_state(gdx.adam(1e-2)), train_linen_state(optax.adam(1e-2))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
