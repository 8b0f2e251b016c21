"""lamb and lars beyond optax parity: validation and integer params."""

import jax.numpy as jnp
import pytest

import gdx

# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: gdx.lamb(1e-3, b1=1.5), "b1"),
        (lambda: gdx.lamb(1e-3, b2=1.0), "b2"),
        (lambda: gdx.lamb(1e-3, eps=-1e-6), "eps"),
        (lambda: gdx.lamb(1e-3, weight_decay=-0.1), "weight_decay"),
        (lambda: gdx.lars(-1.0), "learning_rate"),
        (lambda: gdx.lars(0.1, weight_decay=-1e-4), "weight_decay"),
        (lambda: gdx.lars(0.1, eps=-1.0), "eps"),
        (lambda: gdx.lars(0.1, momentum=1.0), "momentum"),
    ],
)
def test_bad_hyperparameters_are_rejected_naming_the_argument(build, name):
    with pytest.raises(ValueError, match=name):
        build()


@pytest.mark.parametrize("name", ["lamb", "lars"])
def test_integer_params_rejected_at_init(name):
    tx = getattr(gdx, name)(0.1)
    with pytest.raises(TypeError, match=name):
        tx.init({"w": jnp.ones(3), "steps": jnp.zeros((), jnp.int32)})
