"""Port of Flax's MNIST example (Linen): SGD with momentum, `TrainState.apply_gradients`.

Source: google/flax, examples/mnist/train.py (`create_train_state`,
`apply_model`, `update_model`). Reduced: the CNN is a small linen CNN over
sklearn's 8x8 digits. Kept as in the script: `optax.sgd(config.learning_rate,
config.momentum)` with both arguments positional, a jitted `apply_model` that
returns grads, and `state.apply_gradients(grads=grads)`.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.training import train_state

from tests.conformance.ports._port import (
    assert_same_bits,
    assert_trains,
    cross_entropy,
    digits_batches,
    run_both,
)

STEPS = 40


class CNN(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = x.reshape((x.shape[0], 8, 8, 1))
        x = nn.relu(nn.Conv(features=8, kernel_size=(3, 3))(x))
        x = nn.avg_pool(x, window_shape=(2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(features=32)(x))
        return nn.Dense(features=10)(x)


def run(ox):
    learning_rate, momentum = 0.1, 0.9
    cnn = CNN()
    params = cnn.init(jax.random.key(2), jnp.ones([1, 64], jnp.float32))["params"]
    tx = ox.sgd(learning_rate, momentum)
    state = train_state.TrainState.create(apply_fn=cnn.apply, params=params, tx=tx)

    @jax.jit
    def apply_model(state, images, labels):
        def loss_fn(params):
            return cross_entropy(state.apply_fn({"params": params}, images), labels)

        return jax.value_and_grad(loss_fn)(state.params)

    @jax.jit
    def update_model(state, grads):
        return state.apply_gradients(grads=grads)

    losses = []
    for images, labels in digits_batches(STEPS, seed=2):
        loss, grads = apply_model(state, images, labels)
        state = update_model(state, grads)
        losses.append(loss)
    return state, losses


def test_flax_mnist_port_is_bit_identical_to_optax():
    # Flax's `nn.avg_pool` divides a float32 sum by an int32 window size: not strict-promotion safe,
    # so the gdx side (the same user code) runs under standard promotion too.
    (ref, ref_losses), (got, got_losses) = run_both(run, gdx_promotion="standard")
    assert_trains(ref_losses)
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got.params, ref.params, "params")
    assert_same_bits(got.opt_state, ref.opt_state, "opt_state")
