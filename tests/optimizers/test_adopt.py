"""ADOPT beyond optax parity: the first step and a clip_value_fn of the wrong type (bad
hyperparameters: tests/optimizers/test_generic.py)."""

import jax.numpy as jnp
import numpy as np
import pytest

import gdx


def test_adopt_first_step_only_initializes_the_second_moment():
    tx = gdx.adopt(0.1)
    params = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(params)
    updates, state = tx.update(params, state, params)
    np.testing.assert_array_equal(updates["w"], np.zeros(2))
    np.testing.assert_allclose(state[0].nu["w"], np.array([1.0, 4.0]))
    updates, _ = tx.update(params, state, params)
    assert float(jnp.max(jnp.abs(updates["w"]))) > 0


def test_clip_value_fn_of_the_wrong_type_fails_clearly():
    with pytest.raises(TypeError, match="clip_value_fn"):
        gdx.adopt(0.01, clip_value_fn=0.5)  # type: ignore[arg-type]
