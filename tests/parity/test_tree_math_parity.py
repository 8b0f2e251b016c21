"""`gdx.tree_math` (moments, bias correction, incremental and periodic updates) against optax, call by call.

gdx runs under strict promotion, optax under standard.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.calls import assert_trees_close, both, random_tree
from tests.parity.harness import optax_promotion


@pytest.mark.parametrize(
    "order, decay", [(1, 0.9), (2, jnp.asarray(0.99, jnp.float32)), (3, 0.5)], ids=["1", "2-array", "3"]
)
def test_update_moment(order, decay):
    ours, theirs = both("update_moment", random_tree(0), random_tree(1), decay, order)
    assert_trees_close(ours, theirs)


@pytest.mark.parametrize("order", [1, 2])
def test_update_moment_per_elem_norm(order):
    updates, moments = random_tree(0, complex_leaf=True), random_tree(1, positive=True)
    moments["z"] = jnp.asarray([0.5, 1.0, 2.0], jnp.float32)  # a real moment for the complex leaf
    ours, theirs = both("update_moment_per_elem_norm", updates, moments, 0.999, order)
    assert_trees_close(ours, theirs)


@pytest.mark.parametrize("eps", [0.0, 1e-3])
def test_update_infinity_moment(eps):
    ours, theirs = both("update_infinity_moment", random_tree(0), random_tree(1, positive=True), 0.99, eps)
    assert_trees_close(ours, theirs)


@pytest.mark.parametrize("count, decay", [(1, 0.9), (3, 0.999), (1000, 0.999)])
def test_bias_correction(count, decay):
    ours, theirs = both("bias_correction", random_tree(2), decay, jnp.asarray(count, jnp.int32))
    assert_trees_close(ours, theirs)


def test_update_moment_keeps_none_leaves():
    updates = {"a": None, "b": jnp.ones(2)}
    ours = gdx.update_moment(updates, {"a": None, "b": jnp.zeros(2)}, 0.9, 2)
    assert ours["a"] is None


@pytest.mark.parametrize(
    "step_size", [0.01, 0.5, jnp.asarray(0.2, jnp.float32)], ids=["0.01", "0.5", "array"]
)
def test_incremental_update(step_size):
    ours, theirs = both("incremental_update", random_tree(3), random_tree(4), step_size)
    assert_trees_close(ours, theirs)


def test_periodic_update():
    new, old = random_tree(5), random_tree(6)
    step = jax.jit(gdx.periodic_update, static_argnums=3)
    for steps in range(7):
        ours = step(new, old, jnp.asarray(steps, jnp.int32), 3)
        with optax_promotion():
            theirs = optax.periodic_update(new, old, jnp.asarray(steps, jnp.int32), 3)
        assert_trees_close(ours, theirs)
        expected = new if steps % 3 == 0 else old
        assert_trees_close(ours, expected)
