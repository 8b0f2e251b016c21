"""Schedule-Free beyond optax parity: the evaluation params (bad hyperparameters:
tests/optimizers/test_generic.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx


def test_schedule_free_eval_params_finds_a_nested_state_and_rejects_others():
    tx = gdx.chain(gdx.clip_by_global_norm(1.0), gdx.schedule_free_sgd(0.1, b1=0.5))
    params = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(params)
    updates, state = tx.update({"w": jnp.array([0.5, 0.5])}, state, params)
    params = gdx.apply_updates(params, updates)
    schedule_free_state = state[1]
    want = optax.contrib.schedule_free_eval_params(schedule_free_state, params)
    np.testing.assert_allclose(gdx.schedule_free_eval_params(state, params)["w"], want["w"])
    with pytest.raises(ValueError, match="ScheduleFreeState"):
        gdx.schedule_free_eval_params(gdx.adam(0.1).init(params), params)


def test_schedule_free_with_b1_one_evaluates_at_the_trained_params():
    tx = gdx.schedule_free_adamw(0.1, b1=1.0)
    params = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(params)
    for _ in range(3):
        updates, state = tx.update(params, state, params)
        params = gdx.apply_updates(params, updates)
    np.testing.assert_allclose(gdx.schedule_free_eval_params(state, params)["w"], params["w"], rtol=1e-6)


def test_schedule_free_sgd_eval_params_converge_on_a_quadratic():
    tx = gdx.schedule_free_sgd(0.5, warmup_steps=5)
    params = {"w": jnp.array([3.0, -1.0])}
    state = tx.init(params)
    step = jax.jit(lambda p, s: tx.update(p, s, p))  # grad of 0.5 * |w|^2 is w
    for _ in range(200):
        updates, state = step(params, state)
        params = gdx.apply_updates(params, updates)
    assert float(jnp.max(jnp.abs(gdx.schedule_free_eval_params(state, params)["w"]))) < 1e-2
