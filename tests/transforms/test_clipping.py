"""`clip` and `clip_by_global_norm`: the bounds and validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

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


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: gdx.clip_by_global_norm(0.0), "max_norm"),
        (lambda: gdx.clip_by_global_norm(-1.0), "max_norm"),
    ],
)
def test_bad_hyperparameters_are_rejected_naming_the_argument(build, name):
    with pytest.raises(ValueError, match=name):
        build()
