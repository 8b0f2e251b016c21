"""Behaviour of scale_gradient beyond optax parity."""

import jax
import jax.numpy as jnp
import numpy as np

import gdx

# --- scale_gradient -------------------------------------------------------------------------------------


def test_scale_gradient_with_a_traced_scale_and_bfloat16():
    x = jnp.array([1.0, 2.0], jnp.bfloat16)

    @jax.jit
    def grad(scale):
        return jax.grad(lambda x: jnp.sum(gdx.scale_gradient(x, scale).astype(jnp.float32) ** 2))(x)

    g = grad(jnp.array(0.5, jnp.float32))
    assert g.dtype == jnp.bfloat16
    np.testing.assert_array_equal(g.astype(jnp.float32), np.array([1.0, 2.0]))


def test_scale_gradient_leaves_values_unchanged():
    tree = {"a": jnp.arange(3.0), "b": (jnp.ones(2),)}
    out = gdx.scale_gradient(tree, 0.3)
    assert jax.tree.structure(out) == jax.tree.structure(tree)
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(tree)):
        np.testing.assert_array_equal(a, b)
