"""Behaviour of scale_by_distance_over_gradients (DoG's step size) beyond optax parity."""

import jax
import jax.numpy as jnp
import numpy as np

import gdx
from tests.optimizers.checks import grads_like

# --- DoG ------------------------------------------------------------------------------------------------


def test_distance_over_gradients_keeps_shapes_and_state_dtypes():
    params = {"s": jnp.array(0.5), "w": jnp.ones((2, 3), jnp.bfloat16)}
    tx = gdx.scale_by_distance_over_gradients(global_scale=-1.0)
    state = tx.init(params)
    updates, new_state = jax.jit(tx.update)(grads_like(params), state, params)
    assert updates["s"].shape == () and updates["w"].dtype == jnp.bfloat16
    for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        assert before.dtype == after.dtype and before.shape == after.shape
    assert new_state.max_dist["w"].dtype == jnp.float32  # promoted with param_dtype from the start


def test_distance_over_gradients_first_step_is_reps_rel_sized():
    params = {"w": jnp.array([3.0, 4.0])}  # norm 5
    tx = gdx.scale_by_distance_over_gradients(reps_rel=1e-2, eps=0.0)
    updates, _ = tx.update({"w": jnp.array([0.0, 2.0])}, tx.init(params), params)
    # d = 1e-2 * (1 + 5); G = 4: u = d / 2 * g
    np.testing.assert_allclose(updates["w"], np.array([0.0, 0.06]), rtol=1e-6)
