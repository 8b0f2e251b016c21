"""add_decayed_weights against optax (params after every step, final state)."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import MASK, assert_parity, decaying_from, make_params, optax_promotion

decaying = decaying_from(0.1)


def test_add_decayed_weights():
    assert_parity(gdx.add_decayed_weights(0.1), optax.add_decayed_weights(0.1), steps=100)


@pytest.mark.parametrize("weight_decay, mask", [(0.3, MASK), (0.0, None)], ids=["mask", "zero"])
def test_add_decayed_weights_variants(weight_decay, mask):
    assert_parity(
        gdx.add_decayed_weights(weight_decay, mask), optax.add_decayed_weights(weight_decay, mask), steps=30
    )


def test_add_decayed_weights_schedule():
    # float32 params only: with a float32 schedule value optax promotes a bfloat16
    # leaf's update to float32, gdx keeps it bfloat16 (see the next test).
    assert_parity(
        gdx.add_decayed_weights(decaying),
        optax.add_decayed_weights(decaying),
        steps=30,
        params=make_params(0, bfloat16=False),
    )


def test_add_decayed_weights_schedule_keeps_bfloat16_updates():
    params = {"w": jnp.linspace(-3.0, 3.0, 16, dtype=jnp.bfloat16)}
    grads = {"w": jnp.linspace(1.0, -2.0, 16, dtype=jnp.bfloat16)}
    tx = gdx.add_decayed_weights(decaying)
    updates, _ = tx.update(grads, tx.init(params), params)
    reference = optax.add_decayed_weights(decaying)
    with optax_promotion():
        expected, _ = reference.update(grads, reference.init(params), params)
    assert updates["w"].dtype == jnp.bfloat16 and expected["w"].dtype == jnp.float32
    # The same float32 value, rounded once to bfloat16.
    np.testing.assert_array_equal(np.asarray(updates["w"]), np.asarray(expected["w"].astype(jnp.bfloat16)))
