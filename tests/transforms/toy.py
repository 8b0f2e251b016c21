"""A toy params/grads pair and a loop that runs a transformation on them (shared by the behaviour tests)."""

import jax
import jax.numpy as jnp
import numpy as np


def tree_of(shapes, seed=0, dtype=jnp.float32):
    keys = jax.random.split(jax.random.key(seed), len(shapes))
    return {f"p{i}": jax.random.normal(k, s, dtype) for i, (k, s) in enumerate(zip(keys, shapes))}


PARAMS = {"w": jnp.arange(6.0).reshape(2, 3) - 2.0, "b": jnp.array([0.5, -1.0, 2.0])}


GRADS = {"w": jnp.full((2, 3), 0.25), "b": jnp.array([1.0, -2.0, 3.0])}


def assert_trees_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def run(tx, steps=3, params=PARAMS, grads=GRADS, **extra_args):
    state = tx.init(params)
    for _ in range(steps):
        updates, state = tx.update(grads, state, params, **extra_args)
    return updates, state
