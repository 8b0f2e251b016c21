"""SAM beyond optax parity: a zero gradient, missing params and the adversarial step (bad
hyperparameters: tests/optimizers/test_generic.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx


def _sam():
    return gdx.sam(gdx.sgd(0.1), gdx.chain(gdx.normalize(), gdx.sgd(0.05)), sync_period=2)


def test_sam_outer_step_is_finite_on_a_zero_gradient():
    # A zero gradient makes optax's (unused) adversarial direction 0/0, and its
    # `c * a + (1 - c) * b` lets that NaN into the outer update. gdx blends the same way
    # (for optax's bits), but gdx's `normalize` maps an all-zero gradient to zero.
    tx = _sam()
    params = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(params)
    updates, state = tx.update({"w": jnp.array([1.0, 1.0])}, state, params)
    params = gdx.apply_updates(params, updates)
    updates, state = tx.update({"w": jnp.zeros(2)}, state, params)
    assert bool(jnp.all(jnp.isfinite(updates["w"])))
    np.testing.assert_allclose(gdx.apply_updates(params, updates)["w"], [1.0, -2.0], rtol=1e-6)


def test_sam_needs_params_and_opaque_mode_needs_grad_fn():
    params = {"w": jnp.ones(2)}
    tx = _sam()
    with pytest.raises(ValueError, match="sam needs params"):
        tx.update(params, tx.init(params))
    opaque = gdx.sam(gdx.sgd(0.1), gdx.sgd(0.05), opaque_mode=True)
    with pytest.raises(ValueError, match="grad_fn"):
        opaque.update(params, opaque.init(params), params)


def test_sam_descends_with_the_gradient_at_the_adversarial_point():
    # One SAM step on f(w) = sum(w**4) / 4 in opaque mode equals the textbook formula.
    grad_fn = jax.grad(lambda p, i: jnp.sum(p["w"] ** 4) / 4)
    tx = gdx.sam(gdx.sgd(0.1), gdx.chain(gdx.normalize(), gdx.sgd(0.05)), opaque_mode=True)
    params = {"w": jnp.array([1.0, -0.5])}
    updates, _ = tx.update(grad_fn(params, 0), tx.init(params), params, grad_fn=grad_fn)
    g = params["w"] ** 3
    adversarial = params["w"] + 0.05 * g / jnp.linalg.norm(g)
    np.testing.assert_allclose(updates["w"], -0.1 * adversarial**3, rtol=1e-6)
