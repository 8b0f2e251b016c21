"""Port of Flax's NNX MNIST tutorial: `nnx.Optimizer(model, optax.adamw(lr, momentum), wrt=nnx.Param)`.

Source: google/flax, docs_nnx/mnist_tutorial.md (`optimizer = nnx.Optimizer(
model, optax.adamw(learning_rate, momentum), wrt=nnx.Param)`, `train_step`
with `nnx.value_and_grad` and `optimizer.update(model, grads)` under
`nnx.jit`). Reduced: the CNN is an NNX MLP on sklearn's digits. `momentum` is
passed positionally, so it lands on adamw's `b1`, exactly as in the tutorial.
"""

from flax import nnx

from tests.conformance.ports._port import (
    assert_same_bits,
    assert_trains,
    cross_entropy,
    digits_batches,
    run_both,
)

STEPS = 40


class MLP(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.linear1 = nnx.Linear(64, 32, rngs=rngs)
        self.linear2 = nnx.Linear(32, 10, rngs=rngs)

    def __call__(self, x):
        return self.linear2(nnx.relu(self.linear1(x)))


def run(ox):
    learning_rate, momentum = 0.005, 0.9
    model = MLP(rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, ox.adamw(learning_rate, momentum), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, images, labels):
        def loss_fn(model):
            return cross_entropy(model(images), labels)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    losses = [train_step(model, optimizer, x, y) for x, y in digits_batches(STEPS, seed=3)]
    params = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    opt_state = nnx.to_pure_dict(nnx.state(optimizer.opt_state))
    return params, opt_state, optimizer.step[...], losses


def test_flax_nnx_mnist_port_is_bit_identical_to_optax():
    (ref, ref_opt, ref_step, ref_losses), (got, got_opt, got_step, got_losses) = run_both(run)
    assert_trains(ref_losses)
    assert int(got_step) == int(ref_step) == STEPS
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_opt, ref_opt, "opt_state")
