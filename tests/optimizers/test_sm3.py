"""Behaviour of SM3 beyond optax parity."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.optimizers.checks import grads_like, params_f32, run_steps
from tests.parity.harness import optax_promotion

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
