"""Port of optax's gradient-accumulation notebook: `MultiSteps(adam, every_k_schedule=k)` under jit.

Source: google-deepmind/optax, docs/_collections/examples/gradient_accumulation.ipynb
(`optax.MultiSteps(optax.adam(learning_rate), every_k_schedule=k)`, a jitted
step with `opt.update(grads, opt_state, params)` and `optax.apply_updates`,
`opt.has_updated(opt_state)` to see which mini-steps applied an update).
Reduced: the notebook's model is a plain jax MLP on sklearn's digits.
"""

import jax

from tests.conformance.ports._mlp import apply_mlp, init_mlp
from tests.conformance.ports._port import (
    assert_same_bits,
    assert_trains,
    cross_entropy,
    digits_batches,
    run_both,
)

STEPS, K = 48, 4


def run(ox):
    opt = ox.MultiSteps(ox.adam(0.01), every_k_schedule=K)
    params = init_mlp(16)
    opt_state = opt.init(params)

    @jax.jit
    def train_step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply_mlp(p, batch[0]), batch[1]))(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return ox.apply_updates(params, updates), opt_state, loss, opt.has_updated(opt_state)

    losses, updated = [], []
    for batch in digits_batches(STEPS, seed=16):
        params, opt_state, loss, has_updated = train_step(params, opt_state, batch)
        losses.append(loss)
        updated.append(bool(has_updated))
    return params, opt_state, losses, updated


def test_optax_gradient_accumulation_notebook_port_is_bit_identical_to_optax():
    (ref, ref_state, ref_losses, ref_updated), (got, got_state, got_losses, got_updated) = run_both(run)
    assert_trains(ref_losses)
    assert got_updated == ref_updated == [(i + 1) % K == 0 for i in range(STEPS)]
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")
