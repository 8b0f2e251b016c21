"""Sophia and the Hutchinson estimator beyond optax parity: obj_fn updates on a mixed
tree, the estimator on a diagonal Hessian, and the ill-conditioned quadratic (bad hyperparameters:
tests/optimizers/test_generic.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx

# --- Sophia ----------------------------------------------------------------------------------


def test_hutchinson_is_exact_for_a_diagonal_hessian():
    # z * (H z) = diag(H) * z**2 = diag(H) for Rademacher z when H is diagonal.
    curvature = jnp.array([1.0, 10.0, 100.0])
    tx = gdx.hutchinson_estimator_diag_hessian(jax.random.PRNGKey(3))
    params = {"w": jnp.array([0.5, -1.0, 2.0])}
    estimate, state = tx.update(
        params, tx.init(params), params, obj_fn=lambda p: 0.5 * jnp.sum(curvature * p["w"] ** 2)
    )
    np.testing.assert_allclose(estimate["w"], curvature, rtol=1e-6)
    assert isinstance(state, gdx.HutchinsonState)
    with pytest.raises(ValueError, match="needs obj_fn"):
        tx.update(params, tx.init(params), params)


def test_sophia_needs_params_and_reduces_an_ill_conditioned_quadratic():
    curvature = {"w": jnp.array([1.0, 10.0, 100.0]), "b": jnp.array(3.0)}

    def loss(params):
        return sum(0.5 * jnp.sum(curvature[k] * params[k] ** 2) for k in params)

    tx = gdx.sophia(0.05, weight_decay=0.0)
    params = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array(0.3)}
    with pytest.raises(ValueError, match="sophia needs params"):
        tx.update(params, tx.init(params))

    @jax.jit
    def run(params):
        def body(carry, _):
            params, state = carry
            updates, state = tx.update(jax.grad(loss)(params), state, params, obj_fn=loss)
            return (gdx.apply_updates(params, updates), state), None

        return jax.lax.scan(body, (params, tx.init(params)), None, length=300)[0][0]

    assert float(loss(run(params))) < float(loss(params)) / 100
