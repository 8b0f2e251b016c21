"""`normalize`: unit global norm (jit once and dtypes kept: tests/optimizers/test_generic.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import gdx

# --- normalize, split_real_and_imaginary ------------------------------------------------------


def test_normalize_gives_unit_global_norm():
    updates, _ = gdx.normalize().update(
        {"a": jnp.array([3.0]), "b": jnp.array([[4.0]])}, gdx.NormalizeState()
    )
    np.testing.assert_allclose(float(gdx.global_norm(updates)), 1.0, rtol=1e-6)
