"""`clip` and `clip_by_global_norm`: the bounds (bad hyperparameters: tests/optimizers/test_generic.py)."""

import jax
import jax.numpy as jnp
import numpy as np

import gdx
from tests.transforms.toy import GRADS, assert_trees_equal, run

# --- clipping --------------------------------------------------------------------------------


def test_clip_by_global_norm_rescales_to_max_norm_only_when_above():
    norm = float(jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(GRADS))))
    clipped, _ = run(gdx.clip_by_global_norm(1.0), steps=1)
    np.testing.assert_allclose(gdx.global_norm(clipped), 1.0, rtol=1e-6)
    untouched, _ = run(gdx.clip_by_global_norm(norm * 1.01), steps=1)
    assert_trees_equal(untouched, GRADS)


def test_clip_bounds_each_element():
    clipped, _ = run(gdx.clip(1.5), steps=1)
    np.testing.assert_array_equal(clipped["b"], jnp.array([1.0, -1.5, 1.5]))
