"""Behaviour of scale_by_distance_over_gradients (DoG's step size) beyond optax parity."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.optimizers.checks import grads_like, params_f32

# --- hyperparameter validation --------------------------------------------------------------------

BAD_CASES = [
    ("scale_by_distance_over_gradients", dict(reps_rel=0.0), "reps_rel"),
    ("scale_by_distance_over_gradients", dict(eps=-1.0), "eps"),
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
    "scale_by_distance_over_gradients": lambda: gdx.scale_by_distance_over_gradients(),
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
    "scale_by_distance_over_gradients",
]


@pytest.mark.parametrize("name", NEEDS_PARAMS)
def test_missing_params_is_a_clear_error(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    with pytest.raises(ValueError, match="needs params"):
        tx.update(params, tx.init(params))


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
