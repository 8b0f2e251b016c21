"""the per-example clippings against optax (params after every step, final state)."""

import jax
import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.calls import assert_same_tree
from tests.parity.harness import optax_promotion


def per_example_grads(dtype=jnp.float32):
    keys = jax.random.split(jax.random.key(4), 3)
    return {
        "w": jax.random.normal(keys[0], (5, 3, 2), jnp.float32).astype(dtype),
        "b": (2.0 * jax.random.normal(keys[1], (5, 2), jnp.float32)).astype(dtype),
        "s": jax.random.normal(keys[2], (5,), jnp.float32).astype(dtype),
    }


@pytest.mark.parametrize("clip", [0.0, 0.5, 1.5, 3.0, jnp.inf])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16], ids=["f32", "bf16"])
def test_per_example_global_norm_clip(clip, dtype):
    grads = per_example_grads(dtype)
    with jax.numpy_dtype_promotion("strict"):
        ours = gdx.per_example_global_norm_clip(grads, clip)
    with optax_promotion():
        theirs = optax.per_example_global_norm_clip(grads, clip)
    assert_same_tree(ours, theirs, rtol=1e-6 if dtype == jnp.float32 else 1e-2)


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("clip", [0.0, 1.0, 2.5, jnp.inf])
def test_per_example_layer_norm_clip(clip, uniform):
    grads = per_example_grads()
    with jax.numpy_dtype_promotion("strict"):
        ours = gdx.per_example_layer_norm_clip(grads, clip, uniform)
    with optax_promotion():
        theirs = optax.per_example_layer_norm_clip(grads, clip, uniform)
    assert_same_tree(ours, theirs)
