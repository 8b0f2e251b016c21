"""Behaviour of the constraints (zero_nans, keep_params_nonnegative) beyond optax parity."""

import jax
import jax.numpy as jnp
import numpy as np

import gdx

# --- constraints ---------------------------------------------------------------------------------------


def test_zero_nans_replaces_nans_and_records_where():
    tx = gdx.zero_nans()
    params = {"a": jnp.zeros(3), "b": jnp.zeros(2), "c": jnp.zeros(())}
    state = tx.init(params)
    assert not any(bool(x) for x in jax.tree.leaves(state.found_nan))
    grads = {"a": jnp.array([1.0, jnp.nan, jnp.inf]), "b": jnp.array([2.0, -1.0]), "c": jnp.array(jnp.nan)}
    updates, state = jax.jit(tx.update)(grads, state)
    np.testing.assert_array_equal(updates["a"], np.array([1.0, 0.0, np.inf]))  # inf is not NaN: kept
    np.testing.assert_array_equal(updates["b"], grads["b"])
    assert float(updates["c"]) == 0.0
    assert state.found_nan == {"a": True, "b": False, "c": True}
    assert all(x.dtype == jnp.bool_ and x.shape == () for x in jax.tree.leaves(state.found_nan))
    # The flags describe the last update only.
    _, state = tx.update(params, state)
    assert not any(bool(x) for x in jax.tree.leaves(state.found_nan))


def test_zero_nans_keeps_bfloat16():
    tx = gdx.zero_nans()
    grads = {"a": jnp.array([jnp.nan, 1.0], jnp.bfloat16)}
    updates, _ = tx.update(grads, tx.init(grads))
    assert updates["a"].dtype == jnp.bfloat16
    np.testing.assert_array_equal(updates["a"].astype(jnp.float32), np.array([0.0, 1.0]))


def test_keep_params_nonnegative_clamps_at_zero():
    tx = gdx.chain(gdx.sgd(1.0), gdx.keep_params_nonnegative())
    params = {"w": jnp.array([0.5, 2.0, 0.0, -1.0]), "s": jnp.array(0.25, jnp.bfloat16)}
    grads = {"w": jnp.array([1.0, 1.0, -1.0, 0.0]), "s": jnp.array(1.0, jnp.bfloat16)}
    updates, _ = tx.update(grads, tx.init(params), params)
    new_params = gdx.apply_updates(params, updates)
    # 0.5 - 1 < 0 lands on 0; 2 - 1 stays; 0 + 1 stays; an already negative param is moved to 0.
    np.testing.assert_array_equal(new_params["w"], np.array([0.0, 1.0, 1.0, 0.0]))
    assert new_params["s"].dtype == jnp.bfloat16 and float(new_params["s"]) == 0.0
