"""Port of Flax's WMT / LM1B examples: AdamW with linear warmup into an rsqrt schedule.

Source: google/flax, examples/wmt/train.py and examples/lm1b/train.py
(`rsqrt_schedule`, `create_learning_rate_schedule`, `train_step`). Reduced: the
Transformer is a linen MLP on sklearn's digits. Kept as in the scripts:
`join_schedules([linear_schedule(init_value=0, ...), rsqrt], boundaries=[warmup])`
with an integer `init_value=0` and a user-written rsqrt schedule,
`adamw(learning_rate=fn, b1=0.9, b2=0.98, eps=1e-9, weight_decay=...)`, and
`state.apply_gradients` in a jitted step.
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

STEPS, WARMUP = 50, 10


class Net(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.gelu(nn.Dense(48)(x))
        x = nn.LayerNorm()(x)
        return nn.Dense(10)(x)


def rsqrt_schedule(init_value: float, shift: int = 0):
    def schedule(count):
        return init_value * (count + shift) ** -0.5 * shift**0.5

    return schedule


def run(ox):
    def create_learning_rate_schedule(learning_rate: float, warmup_steps: int):
        return ox.join_schedules(
            [
                ox.linear_schedule(init_value=0, end_value=learning_rate, transition_steps=warmup_steps),
                rsqrt_schedule(init_value=learning_rate, shift=warmup_steps),
            ],
            boundaries=[warmup_steps],
        )

    learning_rate_fn = create_learning_rate_schedule(learning_rate=0.01, warmup_steps=WARMUP)
    model = Net()
    params = model.init(jax.random.key(1), jnp.ones((1, 64), jnp.float32))["params"]
    tx = ox.adamw(learning_rate=learning_rate_fn, b1=0.9, b2=0.98, eps=1e-9, weight_decay=0.1)
    state = train_state.TrainState.create(apply_fn=model.apply, params=params, tx=tx)

    @jax.jit
    def train_step(state, batch):
        def loss_fn(params):
            return cross_entropy(state.apply_fn({"params": params}, batch[0]), batch[1])

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        lr = learning_rate_fn(state.step)
        return state.apply_gradients(grads=grads), (loss, lr)

    losses = []
    for batch in digits_batches(STEPS, seed=1):
        state, (loss, _) = train_step(state, batch)
        losses.append(loss)
    return state, losses


def test_flax_wmt_port_is_bit_identical_to_optax():
    # The script's own `rsqrt_schedule` computes `(int32 count + shift) ** -0.5`: not strict-promotion
    # safe, so the gdx side (the same user code) runs under standard promotion too.
    (ref, ref_losses), (got, got_losses) = run_both(run, gdx_promotion="standard")
    assert_trains(ref_losses)
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got.params, ref.params, "params")
    assert_same_bits(got.opt_state, ref.opt_state, "opt_state")
