"""lion beyond optax parity: validation and integer params."""

import jax.numpy as jnp
import pytest

import gdx

# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: gdx.lion(-1e-3), "learning_rate"),
        (lambda: gdx.lion(1e-3, b1=1.0), "b1"),
        (lambda: gdx.lion(1e-3, b2=-0.5), "b2"),
        (lambda: gdx.lion(1e-3, weight_decay=-1e-3), "weight_decay"),
        (lambda: gdx.scale_by_lion(mode="soft"), "mode"),
    ],
)
def test_bad_hyperparameters_are_rejected_naming_the_argument(build, name):
    with pytest.raises(ValueError, match=name):
        build()


@pytest.mark.parametrize("name", ["lion"])
def test_integer_params_rejected_at_init(name):
    tx = getattr(gdx, name)(0.1)
    with pytest.raises(TypeError, match=name):
        tx.init({"w": jnp.ones(3), "steps": jnp.zeros((), jnp.int32)})
