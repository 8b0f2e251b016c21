"""Muon beyond optax parity: bad shapes and types, default dimension numbers and stacked layers (bad
hyperparameters: tests/optimizers/test_generic.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx


def test_bad_shapes_and_types_fail_clearly():
    # (its adopt assertion moved to tests/optimizers/test_adopt.py)
    with pytest.raises(ValueError, match="ns_coeffs"):
        gdx.scale_by_muon(ns_coeffs=(1.0, 2.0)).init({"w": jnp.ones((2, 2))})
    with pytest.raises(ValueError, match="rank >= 2"):
        tx = gdx.muon(0.01, muon_weight_dimension_numbers={"w": gdx.MuonDimensionNumbers()})
        params = {"w": jnp.ones(3)}
        tx.update(params, tx.init(params), params)
    with pytest.raises(ValueError, match="disjoint"):
        tx = gdx.scale_by_muon(weight_dimension_numbers={"w": gdx.MuonDimensionNumbers(0, 0)})
        params = {"w": jnp.ones((2, 3, 4))}
        tx.update(params, tx.init(params))


def test_scale_by_muon_orthogonalizes_with_default_dimension_numbers():
    # gdx only: `weight_dimension_numbers=None` means "every leaf is a matrix" (optax raises).
    tx = gdx.scale_by_muon(beta=0.0, nesterov=False)
    grads = {
        "w": jax.random.normal(jax.random.key(0), (8, 4)),
        "v": jax.random.normal(jax.random.key(1), (3, 6)),
    }
    updates, state = jax.jit(tx.update)(grads, tx.init(grads))
    for leaf in jax.tree.leaves(updates):
        singular_values = np.linalg.svd(np.asarray(leaf), compute_uv=False)
        # The tuned quintic lands singular values roughly in (0.5, 1.5), not exactly at 1 (Jordan 2024).
        assert singular_values.min() > 0.5 and singular_values.max() < 1.5, singular_values
    assert state.count.dtype == jnp.int32


def test_muon_stacked_layers_equal_separate_matrices():
    stacked = jax.random.normal(jax.random.key(2), (3, 5, 4))
    numbers = {"w": gdx.MuonDimensionNumbers(reduction_axis=1, output_axis=2)}
    tx = gdx.scale_by_muon(weight_dimension_numbers=numbers)
    got, _ = jax.jit(tx.update)({"w": stacked}, tx.init({"w": stacked}))
    single = gdx.scale_by_muon()
    one_matrix = jax.jit(lambda w: single.update({"w": w}, single.init({"w": w}))[0]["w"])
    for i in range(3):
        np.testing.assert_allclose(got["w"][i], one_matrix(stacked[i]), rtol=1e-5, atol=1e-6)
