"""Port of optax's Lookahead MNIST notebook: `lookahead(adam, sync_period, slow_step_size)`.

Source: google-deepmind/optax, docs/_collections/examples/lookahead_mnist.ipynb.
Reduced: the notebook's CNN is a plain jax MLP on sklearn's digits. Kept as in
the notebook: `fast_solver = optax.adam(lr)`, `solver = optax.lookahead(
fast_solver, sync_period, slow_step_size)`, params wrapped by
`optax.LookaheadParams.init_synced(params)`, grads taken at `params.fast`,
`solver.update(grads, state, params)` and `optax.apply_updates` in a jitted
step, evaluation at `params.slow`.
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
    fast_solver = ox.adam(0.005)
    solver = ox.lookahead(fast_solver, 5, 0.5)
    params = ox.LookaheadParams.init_synced(init_mlp(13))
    state = solver.init(params)

    @jax.jit
    def train_step(params, state, batch):
        loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply_mlp(p, batch[0]), batch[1]))(
            params.fast
        )
        updates, state = solver.update(grads, state, params)
        return ox.apply_updates(params, updates), state, loss

    losses = []
    batches = digits_batches(STEPS, seed=13)
    for batch in batches:
        params, state, loss = train_step(params, state, batch)
        losses.append(loss)
    slow_loss = cross_entropy(apply_mlp(params.slow, batches[-1][0]), batches[-1][1])
    return params, state, losses, slow_loss


def test_optax_lookahead_notebook_port_is_bit_identical_to_optax():
    (ref, ref_state, ref_losses, ref_slow), (got, got_state, got_losses, got_slow) = run_both(run)
    assert_trains(ref_losses)
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got_slow, ref_slow, "loss at params.slow")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")
