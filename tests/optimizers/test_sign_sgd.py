"""Behaviour of signSGD, Signum and Rprop beyond optax parity: Rprop's one-call delay and its
pause after a sign change, signSGD's empty state and Signum's undebiased momentum.

The generic checks (validation, non-float params, mismatched grads, complex params) run in
tests/optimizers/test_generic.py; convergence, jit and dtypes in tests/test_contract.py.
"""

import jax
import jax.numpy as jnp
import numpy as np

import gdx
from tests.optimizers.checks import grads_like, params_f32


def test_rprop_applies_each_step_one_call_late_as_optax():
    tx = gdx.rprop(0.1)
    params = {"w": jnp.array([1.0])}
    state = tx.init(params)
    got = []
    for _ in range(3):
        updates, state = tx.update({"w": jnp.array([1.0])}, state)
        got.append(float(updates["w"][0]))
    np.testing.assert_allclose(got, [0.0, -0.1, -0.12], rtol=1e-6)


def test_rprop_pauses_a_coordinate_after_a_sign_change():
    tx = gdx.scale_by_rprop(0.1)
    state = tx.init({"w": jnp.zeros(1)})
    for g in (1.0, 1.0):
        _, state = tx.update({"w": jnp.array([g])}, state)
    _, state = tx.update({"w": jnp.array([-1.0])}, state)
    np.testing.assert_allclose(state.step_sizes["w"], [0.12 * 0.5], rtol=1e-6)
    np.testing.assert_array_equal(state.prev_updates["w"], [0.0])


def test_sign_sgd_state_is_empty_and_signum_does_not_debias():
    params = params_f32()
    assert jax.tree.leaves(gdx.sign_sgd(1e-2).init(params)) == []
    tx = gdx.signum(1e-2, beta=0.9)
    grads = grads_like(params)
    updates, state = tx.update(grads, tx.init(params))
    jax.tree.map(lambda m, g: np.testing.assert_allclose(m, 0.1 * g, rtol=1e-6), state[0].ema, grads)
    jax.tree.map(lambda u, g: np.testing.assert_array_equal(u, -1e-2 * np.sign(g)), updates, grads)
