"""Port of Flax's PPO example: Adam whose learning rate decays linearly to exactly 0.

Source: google/flax, examples/ppo/ppo_lib.py (`get_initial_params`,
`create_train_state`: `optax.linear_schedule(init_value=config.learning_rate,
end_value=0., transition_steps=train_steps)` then `optax.adam(lr)`;
`train_step` with `state.apply_gradients`). Reduced: the Atari actor-critic
is an MLP with a policy and a value head on sklearn's digits; the PPO loss is
replaced by behaviour cloning plus a value regression (the optimizer calls are
the port). The schedule reaches 0 before the run ends, so the last steps run
at learning rate 0, as the script's last updates do.
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

STEPS, TRAIN_STEPS = 40, 32


class ActorCritic(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(32, name="hidden")(x))
        return nn.Dense(10, name="logits")(x), nn.Dense(1, name="value")(x)


def run(ox):
    model = ActorCritic()
    params = model.init(jax.random.key(4), jnp.ones((1, 64), jnp.float32))["params"]
    lr = ox.linear_schedule(init_value=1e-2, end_value=0.0, transition_steps=TRAIN_STEPS)
    tx = ox.adam(lr)
    state = train_state.TrainState.create(apply_fn=model.apply, params=params, tx=tx)

    @jax.jit
    def train_step(state, batch):
        def loss_fn(params):
            logits, value = state.apply_fn({"params": params}, batch[0])
            value_loss = jnp.mean(jnp.square(value[:, 0] - batch[1].astype(jnp.float32) / 10.0))
            return cross_entropy(logits, batch[1]) + 0.5 * value_loss

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads), loss

    losses = []
    for batch in digits_batches(STEPS, seed=4):
        state, loss = train_step(state, batch)
        losses.append(loss)
    return state, losses


def test_flax_ppo_port_is_bit_identical_to_optax():
    (ref, ref_losses), (got, got_losses) = run_both(run)
    assert_trains(ref_losses)
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got.params, ref.params, "params")
    assert_same_bits(got.opt_state, ref.opt_state, "opt_state")
