"""Behaviour of AdaDelta beyond optax parity: no learning rate means ascent, as in optax.

The generic checks (validation, non-float params, mismatched grads, complex params) run in
tests/optimizers/test_generic.py; convergence, jit and dtypes in tests/test_contract.py.
"""

import jax.numpy as jnp

import gdx


def test_adadelta_without_learning_rate_ascends_like_optax():
    tx = gdx.adadelta()
    params = {"w": jnp.array([1.0])}
    updates, _ = tx.update({"w": jnp.array([2.0])}, tx.init(params), params)
    assert float(updates["w"][0]) > 0
