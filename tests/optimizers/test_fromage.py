"""Behaviour of Fromage beyond optax parity."""

import math

import jax.numpy as jnp
import pytest

import gdx
from tests.optimizers.checks import params_f32

# --- hyperparameter validation --------------------------------------------------------------------

BAD_CASES = [
    ("fromage", dict(learning_rate=math.nan), "learning_rate"),
    ("fromage", dict(learning_rate=1e-2, min_norm=-1.0), "min_norm"),
]


@pytest.mark.parametrize(
    "name, kwargs, argument", BAD_CASES, ids=[f"{n}-{a}={list(k.values())[-1]}" for n, k, a in BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_the_argument(name, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{name}: {argument} must be"):
        getattr(gdx, name)(**kwargs)


# --- params and grads -------------------------------------------------------------------------------

NAMED = {
    "fromage": lambda: gdx.fromage(1e-2),
}


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_], ids=["int32", "bool"])
@pytest.mark.parametrize("name", NAMED)
def test_non_float_params_raise_type_error_at_init(name, dtype):
    params = {"w": jnp.ones(3), "steps": jnp.zeros(2, dtype)}
    with pytest.raises(TypeError, match=rf"{name}: params leaf at \['steps'\]"):
        NAMED[name]().init(params)


NEEDS_PARAMS = [
    "fromage",
]


@pytest.mark.parametrize("name", NEEDS_PARAMS)
def test_missing_params_is_a_clear_error(name):
    tx = NAMED[name]()
    params = params_f32()
    with pytest.raises(ValueError, match="needs params"):
        tx.update(params, tx.init(params))
