"""Behaviour of Polyak SGD and scale_by_polyak beyond optax parity."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.optimizers.checks import params_f32

# --- params and grads -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["polyak_sgd", "scale_by_polyak"])
def test_polyak_without_value_names_value(name):
    tx = getattr(gdx, name)()
    params = params_f32()
    # TypeError, as optax's (its `value` is a required keyword-only argument of update).
    with pytest.raises(TypeError, match=r"value=loss"):
        tx.update(params, tx.init(params), params)


# --- polyak ---------------------------------------------------------------------------------------


def test_polyak_sgd_follows_the_polyak_step():
    # f(x) = |x|^2 with f_min = 0: the Polyak step 1/4 halves x, as in optax's docstring example.
    tx = gdx.polyak_sgd()
    params = jnp.array([1.0, 2.0, 3.0])
    state = tx.init(params)
    for _ in range(3):
        value, grad = jax.value_and_grad(lambda x: jnp.sum(x**2))(params)
        updates, state = tx.update(grad, state, params, value=value)
        params = gdx.apply_updates(params, updates)
    np.testing.assert_allclose(params, np.array([1.0, 2.0, 3.0]) / 8)


def test_polyak_zero_gradient_gives_a_zero_step_not_nan():
    tx = gdx.scale_by_polyak()
    updates, _ = tx.update({"w": jnp.zeros(3)}, tx.init(None), value=jnp.array(1.0))
    np.testing.assert_array_equal(updates["w"], np.zeros(3))


def test_polyak_sps_plus_never_ascends():
    tx = gdx.scale_by_polyak(f_min=5.0, variant="sps+")
    updates, _ = tx.update({"w": jnp.ones(3)}, tx.init(None), value=jnp.array(1.0))
    np.testing.assert_array_equal(updates["w"], np.zeros(3))
