"""Call-by-call comparison of gdx with optax (tree math, norms, state utilities, runs on given grads)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gdx
from tests.parity.harness import TOLERANCES, optax_promotion


def assert_trees_close(got, expected, where="tree"):
    got_leaves, got_def = jax.tree_util.tree_flatten_with_path(got)
    expected_leaves, expected_def = jax.tree_util.tree_flatten_with_path(expected)
    assert [jax.tree_util.keystr(p) for p, _ in got_leaves] == [
        jax.tree_util.keystr(p) for p, _ in expected_leaves
    ]
    for (path, a), (_, b) in zip(got_leaves, expected_leaves):
        a, b = np.asarray(a), np.asarray(b)
        label = f"{where}{jax.tree_util.keystr(path)}"
        assert a.dtype == b.dtype, f"{label}: dtype {a.dtype} != optax's {b.dtype}"
        assert a.shape == b.shape, f"{label}: shape {a.shape} != optax's {b.shape}"
        tolerance = TOLERANCES.get(np.dtype(a.dtype), dict(rtol=0, atol=0))
        if a.dtype == np.dtype(jnp.bfloat16):
            a, b = a.astype(np.float32), b.astype(np.float32)
        np.testing.assert_allclose(a, b, err_msg=label, **tolerance)


def assert_trees_equal(got, expected):
    """Same structure and dtypes, equal values (compared in float32; Python numbers allowed)."""
    got_leaves, got_def = jax.tree.flatten(got)
    expected_leaves, expected_def = jax.tree.flatten(expected)
    assert got_def == expected_def
    for g, e in zip(got_leaves, expected_leaves):
        assert jnp.asarray(g).dtype == jnp.asarray(e).dtype
        np.testing.assert_array_equal(np.asarray(g, np.float32), np.asarray(e, np.float32))


def assert_same_tree(ours, theirs, rtol=1e-6):
    """Same structure, dtypes and shapes; values within `rtol` (atol 1e-7), compared in float32."""
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32), rtol=rtol, atol=1e-7)


def random_tree(seed, *, complex_leaf=False, positive=False):
    rng = np.random.default_rng(seed)
    draw = lambda shape: np.abs(rng.standard_normal(shape)) if positive else rng.standard_normal(shape)
    tree = {
        "w": jnp.asarray(draw((4, 3)), jnp.float32),
        "b": (jnp.asarray(draw(()), jnp.float32),),
        "e": jnp.asarray(draw((5,)), jnp.bfloat16),
    }
    if complex_leaf:
        tree["z"] = jnp.asarray(draw((3,)) + 1j * draw((3,)), jnp.complex64)
    return tree


def both(fn_name, *args, **kwargs):
    """gdx.fn(*args) under strict promotion (the test default) and optax.fn(*args) under standard."""
    ours = getattr(gdx, fn_name)(*args, **kwargs)
    with optax_promotion():
        theirs = getattr(optax, fn_name)(*args, **kwargs)
    return ours, theirs


def run_on_grads(tx, params, grads, promotion):
    """`tx` over the given per-step `grads` (leading step axis) in one jitted scan, under `promotion`.

    Returns the params before each step (the trajectory) and the final state.
    """
    with jax.numpy_dtype_promotion(promotion):

        @jax.jit
        def scan(params, grads):
            def body(carry, g):
                params, state = carry
                updates, state = tx.update(g, state, params)
                return (optax.apply_updates(params, updates), state), params

            (_, state), trajectory = jax.lax.scan(body, (params, tx.init(params)), grads)
            return trajectory, state

        return scan(params, grads)
