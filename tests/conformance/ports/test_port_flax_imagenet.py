"""Port of Flax's ImageNet example: SGD + Nesterov momentum, linear warmup then cosine decay.

Source: google/flax, examples/imagenet/train.py (`create_learning_rate_fn`,
`create_train_state`, `train_step`). Reduced: the ResNet is a two-layer MLP
with BatchNorm (so `batch_stats` ride along in a `TrainState` subclass as in
the script), ImageNet is sklearn's digits. Kept as in the script:
`join_schedules([linear_schedule(0 -> base), cosine_decay_schedule(base)],
boundaries=[warmup])`, `sgd(learning_rate=fn, momentum=0.9, nesterov=True)`,
the L2 penalty on kernels added to the loss, `state.apply_gradients(...)` in a
jitted step, and `learning_rate_fn(state.step)` logged as a metric.
"""

from typing import Any

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

STEPS, WARMUP, STEPS_PER_EPOCH, EPOCHS = 60, 10, 12, 5


class Net(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = True):
        x = nn.Dense(32)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
        x = nn.relu(x)
        return nn.Dense(10)(x)


class TrainState(train_state.TrainState):
    batch_stats: Any


def run(ox):
    base_learning_rate = 0.1 * 64 / 256.0

    def create_learning_rate_fn():
        warmup_fn = ox.linear_schedule(init_value=0.0, end_value=base_learning_rate, transition_steps=WARMUP)
        cosine_epochs = max(EPOCHS - 1, 1)
        cosine_fn = ox.cosine_decay_schedule(
            init_value=base_learning_rate, decay_steps=cosine_epochs * STEPS_PER_EPOCH
        )
        return ox.join_schedules(schedules=[warmup_fn, cosine_fn], boundaries=[WARMUP])

    learning_rate_fn = create_learning_rate_fn()
    model = Net()
    variables = model.init(jax.random.key(0), jnp.ones((1, 64), jnp.float32))
    tx = ox.sgd(learning_rate=learning_rate_fn, momentum=0.9, nesterov=True)
    state = TrainState.create(
        apply_fn=model.apply, params=variables["params"], tx=tx, batch_stats=variables["batch_stats"]
    )

    @jax.jit
    def train_step(state, batch):
        def loss_fn(params):
            logits, new_model_state = state.apply_fn(
                {"params": params, "batch_stats": state.batch_stats}, batch[0], mutable=["batch_stats"]
            )
            loss = cross_entropy(logits, batch[1])
            weight_l2 = sum(jnp.sum(x**2) for x in jax.tree_util.tree_leaves(params) if x.ndim > 1)
            return loss + 0.0001 * 0.5 * weight_l2, new_model_state

        (loss, new_model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        lr = learning_rate_fn(state.step)
        state = state.apply_gradients(grads=grads, batch_stats=new_model_state["batch_stats"])
        return state, {"loss": loss, "learning_rate": lr}

    losses, lrs = [], []
    for batch in digits_batches(STEPS):
        state, metrics = train_step(state, batch)
        losses.append(metrics["loss"])
        lrs.append(metrics["learning_rate"])
    return state, losses, lrs


def test_flax_imagenet_port_is_bit_identical_to_optax():
    (ref, ref_losses, ref_lrs), (got, got_losses, got_lrs) = run_both(run)
    assert_trains(ref_losses)
    assert_same_bits(got_lrs, ref_lrs, "learning_rate_fn(step)")
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got.params, ref.params, "params")
    assert_same_bits(got.batch_stats, ref.batch_stats, "batch_stats")
    assert_same_bits(got.opt_state, ref.opt_state, "opt_state")
