"""scale_gradient against optax (params after every step, final state)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.calls import assert_same_tree


@pytest.mark.parametrize("scale", [0.0, 1.0, 0.5, -3.0])
def test_scale_gradient(scale):
    x = {"a": jnp.array([1.0, -2.0, 3.0]), "b": jnp.array(0.5)}

    def loss(scaler, x):
        y = scaler(x, scale)
        return jnp.sum(y["a"] ** 3) + y["b"] ** 2

    with jax.numpy_dtype_promotion("strict"):
        ours_value, ours_grad = jax.value_and_grad(lambda x: loss(gdx.scale_gradient, x))(x)
    theirs_value, theirs_grad = jax.value_and_grad(lambda x: loss(optax.scale_gradient, x))(x)
    np.testing.assert_array_equal(ours_value, theirs_value)
    assert_same_tree(ours_grad, theirs_grad)
