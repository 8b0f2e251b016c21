"""Port of optax's reduce-on-plateau notebook: `chain(adam, contrib.reduce_on_plateau(...))`, `value=loss`.

Source: google-deepmind/optax, docs/_collections/examples/contrib/
reduce_on_plateau.ipynb (`optax.chain(optax.adam(LEARNING_RATE),
optax.contrib.reduce_on_plateau(patience=, cooldown=, factor=, rtol=,
accumulation_size=))`, `opt.update(grads, opt_state, params, value=loss)`,
the scale read with `optax.tree_utils.tree_get(opt_state, "scale")`).
Reduced: the notebook's MLP and dataset are a plain jax MLP on sklearn's
digits; patience is short so the scale really drops during the run.
"""

import jax
import numpy as np

from tests.conformance.ports._mlp import apply_mlp, init_mlp
from tests.conformance.ports._port import (
    assert_same_bits,
    assert_trains,
    cross_entropy,
    digits_batches,
    run_both,
)

STEPS = 60


def run(ox):
    opt = ox.chain(
        ox.adam(0.05),
        ox.contrib.reduce_on_plateau(patience=2, cooldown=1, factor=0.5, rtol=1e-4, accumulation_size=4),
    )
    params = init_mlp(15)
    opt_state = opt.init(params)

    @jax.jit
    def train_step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply_mlp(p, batch[0]), batch[1]))(params)
        updates, opt_state = opt.update(grads, opt_state, params, value=loss)
        return ox.apply_updates(params, updates), opt_state, loss

    losses, scales = [], []
    for batch in digits_batches(STEPS, seed=15):
        params, opt_state, loss = train_step(params, opt_state, batch)
        losses.append(loss)
        scales.append(ox.tree_utils.tree_get(opt_state, "scale"))
    return params, opt_state, losses, scales


def test_optax_reduce_on_plateau_notebook_port_is_bit_identical_to_optax():
    (ref, ref_state, ref_losses, ref_scales), (got, got_state, got_losses, got_scales) = run_both(run)
    assert_trains(ref_losses)
    assert np.asarray(ref_scales[-1]) < 1.0, "the plateau never triggered: the port would test nothing"
    assert_same_bits(got_scales, ref_scales, "tree_get(opt_state, 'scale')")
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")
