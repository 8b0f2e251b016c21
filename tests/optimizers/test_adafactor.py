"""Behaviour of Adafactor and scale_by_factored_rms beyond optax parity."""

import math
import re

import jax
import jax.numpy as jnp
import pytest

import gdx
from tests.optimizers.checks import params_f32

# --- hyperparameter validation --------------------------------------------------------------------

BAD_CASES = [
    ("adafactor", dict(learning_rate=math.inf), "learning_rate"),
    ("adafactor", dict(learning_rate=-1e-3), "learning_rate"),
    ("adafactor", dict(min_dim_size_to_factor=-1), "min_dim_size_to_factor"),
    ("adafactor", dict(min_dim_size_to_factor=2.5), "min_dim_size_to_factor"),
    ("adafactor", dict(decay_rate=-0.8), "decay_rate"),
    ("adafactor", dict(decay_offset=-1), "decay_offset"),
    ("adafactor", dict(clipping_threshold=0.0), "clipping_threshold"),
    ("adafactor", dict(momentum=1.0), "momentum"),
    ("adafactor", dict(weight_decay_rate=-1e-4), "weight_decay_rate"),
    ("adafactor", dict(eps=-1e-30), "eps"),
    ("scale_by_factored_rms", dict(min_dim_size_to_factor=-2), "min_dim_size_to_factor"),
    ("scale_by_factored_rms", dict(epsilon=-1.0), "epsilon"),
    ("scale_by_factored_rms", dict(step_offset=-3), "step_offset"),
]


@pytest.mark.parametrize(
    "name, kwargs, argument", BAD_CASES, ids=[f"{n}-{a}={list(k.values())[-1]}" for n, k, a in BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_the_argument(name, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{name}: {argument} must be"):
        getattr(gdx, name)(**kwargs)


def test_traced_hyperparameters_are_accepted():
    @jax.jit
    def step(lr, momentum):
        tx = gdx.adafactor(lr, momentum=momentum, weight_decay_rate=lr)
        params = params_f32()
        updates, _ = tx.update(params, tx.init(params), params)
        return updates

    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(step(0.01, 0.9)))


# --- params and grads -------------------------------------------------------------------------------

NAMED = {
    "adafactor": lambda: gdx.adafactor(1e-2, min_dim_size_to_factor=2),
}


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_], ids=["int32", "bool"])
@pytest.mark.parametrize("name", NAMED)
def test_non_float_params_raise_type_error_at_init(name, dtype):
    params = {"w": jnp.ones(3), "steps": jnp.zeros(2, dtype)}
    with pytest.raises(TypeError, match=rf"{name}: params leaf at \['steps'\]"):
        NAMED[name]().init(params)


# Transformations that keep per-leaf state (or check the grads against the params).
PER_LEAF = {
    "adafactor": lambda: gdx.adafactor(1e-2, min_dim_size_to_factor=2),
    "scale_by_factored_rms": lambda: gdx.scale_by_factored_rms(min_dim_size_to_factor=2),
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
    "adafactor",
    "scale_by_factored_rms",
]


@pytest.mark.parametrize("name", NEEDS_PARAMS)
def test_missing_params_is_a_clear_error(name):
    tx = PER_LEAF[name]() if name in PER_LEAF else NAMED[name]()
    params = params_f32()
    with pytest.raises(ValueError, match="needs params"):
        tx.update(params, tx.init(params))
