"""Behaviour of adaptive_grad_clip and clip_by_block_rms beyond optax parity."""

import jax.numpy as jnp
import numpy as np
import pytest

import gdx

# --- adaptive and per-example clipping --------------------------------------------------------------------


def test_adaptive_grad_clip_needs_axis_for_rank_six():
    params = {"x": jnp.ones((1, 2, 1, 2, 1, 2))}
    tx = gdx.adaptive_grad_clip(0.1)
    with pytest.raises(ValueError, match="axis"):
        tx.update(params, tx.init(params), params)


def test_adaptive_grad_clip_bounds_the_unit_norms():
    params = {"w": jnp.ones((3, 2))}
    grads = {"w": jnp.array([[10.0, 0.01], [0.0, 0.0], [0.0, 0.0]])}
    tx = gdx.adaptive_grad_clip(0.1)
    updates, _ = tx.update(grads, tx.init(params), params)
    # Column norms of the params are sqrt(3): column 0 is clipped to 0.1 * sqrt(3), column 1 kept.
    np.testing.assert_allclose(jnp.linalg.norm(updates["w"], axis=0), [0.1 * 3**0.5, 0.01], rtol=1e-6)
