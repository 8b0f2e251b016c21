"""MADGRAD beyond optax parity: the first step and missing params (bad hyperparameters:
tests/optimizers/test_generic.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import gdx

# --- MADGRAD ---------------------------------------------------------------------------------


def test_madgrad_first_step_and_missing_params():
    # Step 1 (k = 0): lamb = lr + eps; z = x0 - lamb g / (cbrt(lamb g^2) + eps); x <- 0.1 z + 0.9 x.
    lr, eps, g, x = 0.1, 1e-6, jnp.array([2.0, -0.5]), jnp.array([1.0, 1.0])
    tx = gdx.madgrad(lr)
    updates, _ = tx.update({"x": g}, tx.init({"x": x}), {"x": x})
    lamb = lr + eps
    g64, x64 = np.asarray(g, np.float64), np.asarray(x, np.float64)
    z = x64 - lamb * g64 / (np.cbrt(lamb * g64**2) + eps)
    # z - x cancels most digits: float32 rounding of z (|z| ~ 1) leaves ~1e-7 absolute error.
    np.testing.assert_allclose(updates["x"], 0.1 * (z - x64), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match=r"^\w+ needs params"):
        tx.update({"x": g}, tx.init({"x": x}))
