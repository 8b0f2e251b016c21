"""Port of optax's SAM notebook: `contrib.sam(adam, chain(contrib.normalize(), sgd(rho)), sync_period=2)`.

Source: google-deepmind/optax, docs/_collections/examples/contrib/sam.ipynb
(and the `optax.contrib.sam` docstring example). Reduced: the notebook's
model is a plain jax MLP on sklearn's digits. Kept as in the notebook:
`opt = optax.adam(lr, b1=b1, b2=b2)`, `adv_opt = optax.chain(
optax.contrib.normalize(), optax.sgd(rho))`, `optax.contrib.sam(opt, adv_opt,
sync_period=sync_period)`, and a jitted step calling `opt.update(grads,
state, params)` then `optax.apply_updates`.
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

STEPS = 40


def run(ox):
    lr, b1, b2, rho, sync_period = 0.01, 0.9, 0.999, 0.1, 2
    opt = ox.adam(lr, b1=b1, b2=b2)
    adv_opt = ox.chain(ox.contrib.normalize(), ox.sgd(rho))
    sam_opt = ox.contrib.sam(opt, adv_opt, sync_period=sync_period)
    params = init_mlp(12)
    state = sam_opt.init(params)

    @jax.jit
    def step(params, state, batch):
        loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply_mlp(p, batch[0]), batch[1]))(params)
        updates, state = sam_opt.update(grads, state, params)
        return ox.apply_updates(params, updates), state, loss

    losses = []
    for batch in digits_batches(STEPS, seed=12):
        params, state, loss = step(params, state, batch)
        losses.append(loss)
    return params, state, losses


def test_optax_sam_notebook_port_is_bit_identical_to_optax():
    (ref, ref_state, ref_losses), (got, got_state, got_losses) = run_both(run)
    assert_trains(ref_losses)
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")
