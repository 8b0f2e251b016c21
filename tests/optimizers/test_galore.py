"""GaLore beyond optax parity: a rank of the wrong type, the low-rank state and the projector refresh
(bad hyperparameters: tests/optimizers/test_generic.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx


def test_galore_rank_must_be_an_int():
    with pytest.raises(TypeError, match="rank must be an int"):
        gdx.galore(0.1, rank=2.0)  # type: ignore[arg-type]


# --- GaLore ------------------------------------------------------------------------------------


def test_galore_keeps_low_rank_state_and_refreshes_the_projector_on_schedule():
    params = {"w": jnp.zeros((8, 5)), "v": jnp.zeros((3, 6)), "b": jnp.zeros(5)}
    tx = gdx.scale_by_galore(rank=2, update_proj_gap=3)
    state = tx.init(params)
    adam_state = state.base_optimizer_state
    assert adam_state.mu["w"].shape == (2, 5) and adam_state.mu["v"].shape == (3, 2)
    assert adam_state.mu["b"].shape == (5,) and state.projector["b"].shape == (0, 0)
    rng = np.random.default_rng(0)
    projectors = []
    step = jax.jit(tx.update)
    for _ in range(4):
        grads = jax.tree.map(lambda p: jnp.asarray(rng.standard_normal(p.shape), jnp.float32), params)
        updates, state = step(grads, state)
        projectors.append(state.projector["w"])
    p = projectors[0]
    np.testing.assert_allclose(p.T @ p, np.eye(2), atol=1e-5)  # orthonormal columns
    np.testing.assert_array_equal(projectors[1], p)  # kept between refreshes
    np.testing.assert_array_equal(projectors[2], p)
    assert not np.allclose(projectors[3], p)  # refreshed at step 4 (count 3)
    # The update of a projected leaf lies in the projector's column space.
    np.testing.assert_allclose(projectors[3] @ projectors[3].T @ updates["w"], updates["w"], atol=1e-5)


def test_galore_grads_of_the_wrong_shape_name_the_leaf():
    tx = gdx.galore(0.1, rank=2)
    params = {"w": jnp.zeros((4, 3)), "b": jnp.zeros(3)}
    with pytest.raises(ValueError, match=r"\['w'\]"):
        tx.update({"w": jnp.zeros((5, 3)), "b": jnp.zeros(3)}, tx.init(params), params)
