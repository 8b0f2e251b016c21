"""Behaviour of Adafactor and scale_by_factored_rms beyond optax parity."""

import jax
import jax.numpy as jnp

import gdx
from tests.optimizers.checks import params_f32

# --- traced hyperparameters -----------------------------------------------------------------------


def test_traced_hyperparameters_are_accepted():
    @jax.jit
    def step(lr, momentum):
        tx = gdx.adafactor(lr, momentum=momentum, weight_decay_rate=lr)
        params = params_f32()
        updates, _ = tx.update(params, tx.init(params), params)
        return updates

    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(step(0.01, 0.9)))
