"""Behaviour of SM3 beyond optax parity."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.optimizers.checks import grads_like, params_f32, run_steps
from tests.parity.harness import optax_promotion

# --- hyperparameter validation --------------------------------------------------------------------

BAD_CASES = [
    ("sm3", dict(learning_rate=-1e-2), "learning_rate"),
    ("sm3", dict(learning_rate=1e-2, momentum=1.0), "momentum"),
    ("sm3", dict(learning_rate=1e-2, momentum=-0.1), "momentum"),
    ("scale_by_sm3", dict(b1=1.0), "b1"),
    ("scale_by_sm3", dict(b2=1.5), "b2"),
    ("scale_by_sm3", dict(eps=-1e-8), "eps"),
]


@pytest.mark.parametrize(
    "name, kwargs, argument", BAD_CASES, ids=[f"{n}-{a}={list(k.values())[-1]}" for n, k, a in BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_the_argument(name, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{name}: {argument} must be"):
        getattr(gdx, name)(**kwargs)


def test_learning_rate_of_wrong_type_raises_type_error():
    with pytest.raises(TypeError, match="sm3: learning_rate"):
        gdx.sm3("fast")  # type: ignore[arg-type]


# --- params and grads -------------------------------------------------------------------------------

NAMED = {
    "sm3": lambda: gdx.sm3(1e-2),
}


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_], ids=["int32", "bool"])
@pytest.mark.parametrize("name", NAMED)
def test_non_float_params_raise_type_error_at_init(name, dtype):
    params = {"w": jnp.ones(3), "steps": jnp.zeros(2, dtype)}
    with pytest.raises(TypeError, match=rf"{name}: params leaf at \['steps'\]"):
        NAMED[name]().init(params)


# Transformations that keep per-leaf state (or check the grads against the params).
PER_LEAF = {
    "sm3": lambda: gdx.sm3(1e-2),
    "scale_by_sm3": lambda: gdx.scale_by_sm3(),
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


# --- SM3 on scalars, and with a schedule -------------------------------------------------------------


def test_sm3_treats_a_scalar_as_a_one_element_vector():
    # optax's sm3 raises IndexError on a 0-d leaf; gdx runs, and the scalar gets the
    # numbers of the same value held in a shape-(1,) leaf.
    scalar = {"s": jnp.array(0.7)}
    vector = {"s": jnp.array([0.7])}
    tx = gdx.sm3(0.1)
    state = tx.init(scalar)
    assert [x.shape for x in state[0].mu["s"]] == [()]
    got_scalar, state = run_steps(tx, scalar, steps=5)
    got_vector, _ = run_steps(tx, vector, steps=5)
    assert got_scalar["s"].shape == ()
    np.testing.assert_allclose(got_scalar["s"], got_vector["s"][0], rtol=1e-6)
    with optax_promotion(), pytest.raises(IndexError):
        run_steps(optax.sm3(0.1), scalar, steps=1)


def test_sm3_with_a_scalar_leaf_matches_optax_on_the_other_leaves():
    params = {**params_f32(), "s": jnp.array(0.3)}
    got, _ = run_steps(gdx.sm3(0.05), params, steps=4)
    others = {"a": params["a"], "b": params["b"]}
    state = optax.sm3(0.05).init(others)
    expected = others
    with optax_promotion():
        tx = optax.sm3(0.05)
        for step in range(4):
            grads = grads_like(params, step)
            updates, state = tx.update({"a": grads["a"], "b": grads["b"]}, state, expected)
            expected = optax.apply_updates(expected, updates)
    for key in ("a", "b"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6, atol=1e-7)


def test_sm3_accepts_a_schedule():
    tx = gdx.sm3(lambda count: 0.1 / (1 + count.astype(jnp.float32)))
    params, state = run_steps(tx, params_f32(), steps=3)
    assert int(state[1].count) == 3
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(params))


def test_scale_by_sm3_rejects_complex_params():
    with pytest.raises(ValueError, match="complex"):
        gdx.scale_by_sm3().init({"z": jnp.ones(2, jnp.complex64)})
