"""DP-SGD and differentially_private_aggregate beyond optax parity: per-example grads
(outside most of tests/test_contract.py), clipping and the noise scale; bad hyperparameters are in
tests/optimizers/test_generic.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx

# --- DP-SGD ------------------------------------------------------------------------------------


def test_dp_aggregate_without_noise_is_the_mean_of_clipped_grads_and_the_key_advances():
    grads = {"w": jnp.array([[3.0, 4.0], [0.3, 0.4]])}  # example norms 5 and 0.5
    tx = gdx.differentially_private_aggregate(l2_norm_clip=1.0, noise_multiplier=0.0, key=0)
    state = tx.init({"w": jnp.zeros(2)})
    updates, new_state = tx.update(grads, state)
    np.testing.assert_allclose(updates["w"], ([0.6, 0.8] + np.array([0.3, 0.4])) / 2, rtol=1e-6)
    assert not np.array_equal(jax.random.key_data(state.rng_key), jax.random.key_data(new_state.rng_key))
    with pytest.raises(ValueError, match="leading batch axis"):
        tx.update({"w": jnp.ones(2), "b": jnp.ones(3)}, state)


def test_dp_aggregate_noise_has_the_requested_scale():
    tx = gdx.differentially_private_aggregate(l2_norm_clip=2.0, noise_multiplier=1.5, key=1)
    updates, _ = tx.update({"w": jnp.zeros((1, 20000))}, tx.init({"w": jnp.zeros(20000)}))
    assert abs(float(jnp.std(updates["w"])) - 3.0) < 0.1  # batch of 1: std = l2_norm_clip * noise_multiplier
