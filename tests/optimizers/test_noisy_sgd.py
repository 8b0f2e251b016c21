"""Behaviour of noisy SGD and add_noise beyond optax parity."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.optimizers.checks import params_f32

# --- noise ------------------------------------------------------------------------------------------------


def test_add_noise_same_key_same_noise_other_key_other_noise():
    params = params_f32()
    zeros = jax.tree.map(jnp.zeros_like, params)

    def noise(key):
        tx = gdx.add_noise(1.0, 0.0, key)
        return tx.update(zeros, tx.init(params))[0]

    a, b, c = noise(0), noise(jax.random.key(0)), noise(1)
    np.testing.assert_array_equal(a["a"], b["a"])
    assert not np.array_equal(a["a"], c["a"])
    assert float(jnp.std(a["a"])) > 0.1


def test_add_noise_seed_is_deprecated_and_exclusive_with_key():
    with pytest.warns(DeprecationWarning, match="seed"):
        by_seed = gdx.noisy_sgd(1.0, seed=5)
    by_key = gdx.noisy_sgd(1.0, key=5)
    params = params_f32()
    state_seed, state_key = by_seed.init(params), by_key.init(params)
    np.testing.assert_array_equal(
        jax.random.key_data(state_seed[0].rng_key), jax.random.key_data(state_key[0].rng_key)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError, match="seed"):
            gdx.add_noise(0.01, 0.55, key=1, seed=1)


def test_noisy_sgd_variance_anneals():
    params = {"w": jnp.zeros(20_000)}
    tx = gdx.noisy_sgd(1.0, eta=1.0, gamma=1.0, key=0)
    state = tx.init(params)
    spreads = []
    for _ in range(4):
        updates, state = tx.update(jax.tree.map(jnp.zeros_like, params), state, params)
        spreads.append(float(jnp.std(updates["w"])))
    # sigma_t = sqrt(1 / t)
    np.testing.assert_allclose(spreads, [1.0, 0.5**0.5, (1 / 3) ** 0.5, 0.5], rtol=0.03)
