"""`gdx.split_real_and_imaginary` against `optax.contrib.split_real_and_imaginary` 0.2.8 on complex params."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib

import gdx
from tests.parity.calls import run_on_grads

COMPLEX_PARAMS = {
    "z": jax.lax.complex(jnp.arange(6.0).reshape(2, 3) - 2, jnp.linspace(-1.0, 1.0, 6).reshape(2, 3)),
    "r": jnp.array([0.5, -1.5], jnp.float32),
}


def _complex_grads(steps):
    rng = np.random.default_rng(5)
    normal = lambda *shape: jnp.asarray(rng.standard_normal((steps, *shape)), jnp.float32)  # noqa: E731
    return {"z": jax.lax.complex(normal(2, 3), normal(2, 3)), "r": normal(2)}


def test_split_real_and_imaginary_matches_optax_on_complex_params():
    grads = _complex_grads(30)
    got = run_on_grads(gdx.split_real_and_imaginary(gdx.adamw(0.05)), COMPLEX_PARAMS, grads, "strict")
    want = run_on_grads(
        optax.contrib.split_real_and_imaginary(optax.adamw(0.05)), COMPLEX_PARAMS, grads, "standard"
    )
    paths = lambda tree: [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]  # noqa: E731
    assert paths(got) == paths(want)  # the inner state holds (real, imaginary) pairs, as optax's
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert got[0]["z"].dtype == jnp.complex64
