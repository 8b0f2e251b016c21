"""Behaviour of the block scalings (scale_by_param_block_norm/rms) beyond optax parity."""

import re

import jax.numpy as jnp
import pytest

import gdx
from tests.optimizers.checks import params_f32

# --- hyperparameter validation --------------------------------------------------------------------

BAD_CASES = [
    ("scale_by_param_block_norm", dict(min_scale=-1e-3), "min_scale"),
    ("scale_by_param_block_rms", dict(min_scale=-1e-3), "min_scale"),
]


@pytest.mark.parametrize(
    "name, kwargs, argument", BAD_CASES, ids=[f"{n}-{a}={list(k.values())[-1]}" for n, k, a in BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_the_argument(name, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{name}: {argument} must be"):
        getattr(gdx, name)(**kwargs)


# --- params and grads -------------------------------------------------------------------------------


# Transformations that keep per-leaf state (or check the grads against the params).
PER_LEAF = {
    "scale_by_param_block_rms": lambda: gdx.scale_by_param_block_rms(),
}


@pytest.mark.parametrize("name", PER_LEAF)
def test_grads_with_another_structure_raise_naming_the_path(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    state = tx.init(params)
    grads = {"a": params["a"], "c": params["b"]}
    with pytest.raises(ValueError, match=re.escape("['c']")):
        tx.update(grads, state, params)


@pytest.mark.parametrize("name", [n for n in PER_LEAF if n != "zero_nans"])
def test_grads_with_another_shape_raise_naming_the_path(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    state = tx.init(params)
    grads = {"a": params["a"], "b": jnp.ones(5)}
    with pytest.raises(ValueError, match=re.escape("['b'] has shape (5,)")):
        tx.update(grads, state, params)


NEEDS_PARAMS = [
    "scale_by_param_block_rms",
]


@pytest.mark.parametrize("name", NEEDS_PARAMS)
def test_missing_params_is_a_clear_error(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    with pytest.raises(ValueError, match="needs params"):
        tx.update(params, tx.init(params))
