"""Behaviour of the per-example clippings beyond optax parity."""

import jax.numpy as jnp
import numpy as np
import pytest

import gdx


@pytest.mark.parametrize("fn", ["per_example_global_norm_clip", "per_example_layer_norm_clip"])
def test_per_example_clipping_needs_a_common_batch_axis(fn):
    with pytest.raises(ValueError, match="batch axis"):
        getattr(gdx, fn)({"a": jnp.ones((4, 2)), "b": jnp.ones((3, 2))}, 1.0)
    with pytest.raises(ValueError, match="batch axis"):
        getattr(gdx, fn)({"a": jnp.ones((4, 2)), "s": jnp.ones(())}, 1.0)
    with pytest.raises(ValueError, match="must be >= 0"):
        getattr(gdx, fn)({"a": jnp.ones((4, 2))}, -1.0)


def test_per_example_global_norm_clip_counts_clipped_examples():
    grads = [jnp.array([[0.0, 0.0, 0.0], [0.0, 3.0, 4.0], [4.0, 0.0, 3.0], [3.0, 4.0, 0.0]])]
    total, clipped = gdx.per_example_global_norm_clip(grads, 1.25)
    np.testing.assert_allclose(total[0], [1.75, 1.75, 1.75])
    assert clipped.dtype == jnp.int32 and int(clipped) == 3
