"""`masked`: all-true and all-false masks, state layout, callable and prefix masks, bad masks, extra args."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdx
from tests.transforms.toy import GRADS, PARAMS, assert_trees_equal, run, tree_of

# --- masked ----------------------------------------------------------------------------------

SHAPES = [(), (3,), (2, 3), (2, 1, 2)]


@settings(max_examples=15, deadline=None)
@given(
    shapes=st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3),
    seed=st.integers(0, 3),
    nesterov=st.booleans(),
)
def test_masked_all_true_equals_inner_and_all_false_is_identity(shapes, seed, nesterov):
    params = tree_of(shapes, seed)
    grads = tree_of(shapes, seed + 10)
    inner = gdx.chain(gdx.add_decayed_weights(0.1), gdx.trace(0.9, nesterov=nesterov))
    all_true = jax.tree.map(lambda _: True, params)
    all_false = jax.tree.map(lambda _: False, params)

    expected, expected_state = run(inner, 2, params, grads)
    got, got_state = run(gdx.masked(inner, all_true), 2, params, grads)
    assert_trees_equal(got, expected)
    assert_trees_equal(got_state.inner_state, expected_state)

    unchanged, state = run(gdx.masked(inner, all_false), 2, params, grads)
    assert_trees_equal(unchanged, grads)
    assert jax.tree.leaves(state) == []  # the inner state holds only MaskedNode()s


def test_masked_state_layout_and_callable_mask():
    tx = gdx.masked(gdx.trace(0.9), lambda p: {"w": True, "b": False})
    state = tx.init(PARAMS)
    assert isinstance(state, gdx.MaskedState)
    assert isinstance(state.inner_state.trace["b"], gdx.MaskedNode)
    updates, _ = run(tx, steps=1)
    assert_trees_equal(updates["b"], GRADS["b"])


def test_masked_prefix_mask():
    tx = gdx.masked(gdx.add_decayed_weights(1.0), True)
    updates, _ = run(tx, steps=1)
    np.testing.assert_allclose(updates["w"], GRADS["w"] + PARAMS["w"])


def test_masked_mask_that_does_not_fit_is_a_clear_error():
    with pytest.raises(ValueError, match="masked: the mask"):
        gdx.masked(gdx.trace(0.9), {"w": True, "other": False}).init(PARAMS)


def recording_transform(seen):
    def init(params):
        return gdx.EmptyState()

    def update(updates, state, params=None, **extra_args):
        seen.append(extra_args)
        return updates, state

    return gdx.GradientTransformation(init, update)


def test_masked_forwards_extra_args():
    seen = []
    tags = {"w": "kernel", "b": "bias"}
    run(gdx.masked(recording_transform(seen), {"w": True, "b": False}), steps=1, value=3.0, tags=tags)
    assert seen[-1]["value"] == 3.0 and seen[-1]["tags"] == tags

    run(
        gdx.masked(recording_transform(seen), {"w": True, "b": False}, mask_compatible_extra_args=True),
        steps=1,
        value=3.0,
        tags=tags,
    )
    assert seen[-1]["value"] == 3.0
    assert seen[-1]["tags"]["w"] == "kernel" and isinstance(seen[-1]["tags"]["b"], gdx.MaskedNode)
