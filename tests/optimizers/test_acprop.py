"""AdaBelief-style ACProp beyond optax parity: its denominator (bad hyperparameters:
tests/optimizers/test_generic.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import gdx

# --- ACProp ----------------------------------------------------------------------------------


def test_acprop_denominator_uses_only_past_gradients():
    tx = gdx.scale_by_acprop(eps=0.0, eps_root=0.0)
    state = tx.init({"w": jnp.zeros(2)})
    first, state = tx.update({"w": jnp.array([3.0, -4.0])}, state)
    np.testing.assert_allclose(first["w"], [3.0, -4.0])  # denominator 1 at the first step
    # Step 2: s_1 = (1 - b2) * g_1^2 (prediction error against m_0 = 0), bias-corrected by 1 - b2.
    second, _ = tx.update({"w": jnp.array([1.0, 1.0])}, state)
    np.testing.assert_allclose(second["w"], [1 / 3, 1 / 4], rtol=1e-5)
