"""gdx.tree_utils: tree_get / tree_set / tree_get_all_with_path on nested optimizer states."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from gdx.tree_utils import NamedTupleKey, tree_get, tree_get_all_with_path, tree_set
from tests.parity.harness import optax_promotion

PARAMS = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}


class InnerState(NamedTuple):
    count: jax.Array
    learning_rate: jax.Array


class OuterState(NamedTuple):
    count: jax.Array
    inner: Any
    extras: dict


def hand_built_state():
    return OuterState(
        count=jnp.asarray(7),
        inner=(InnerState(jnp.asarray(1), jnp.asarray(0.1)), {"momentum": jnp.asarray(0.9)}),
        extras={"learning_rate": jnp.asarray(0.5), "nested": {"eps": jnp.asarray(1e-8)}},
    )


def keystrs(found):
    return [jax.tree_util.keystr(path) for path, _ in found]


def test_submodule_and_top_level_names():
    assert gdx.tree_utils.tree_get is tree_get
    assert gdx.tree_map_params is gdx.tree_utils.tree_map_params
    assert not hasattr(optax, "tree_get")  # optax has it in optax.tree_utils / optax.tree only, so does gdx


def test_get_all_with_path_on_a_hand_built_state():
    state = hand_built_state()
    found = tree_get_all_with_path(state, "learning_rate")
    assert keystrs(found) == [
        "OuterState.inner[0]InnerState.learning_rate",
        "OuterState.extras['learning_rate']",
    ]
    assert [float(v) for _, v in found] == [pytest.approx(0.1), 0.5]
    counts = tree_get_all_with_path(state, "count")
    assert [int(v) for _, v in counts] == [7, 1]
    assert counts[1][0][-1] == NamedTupleKey("InnerState", "count")
    assert str(counts[1][0][-1]) == "InnerState.count"


def test_get_by_field_key_and_class_name():
    state = hand_built_state()
    assert float(tree_get(state, "momentum")) == pytest.approx(0.9)
    assert float(tree_get(state, "eps")) == pytest.approx(1e-8)
    assert isinstance(tree_get(state, "InnerState"), InnerState)
    assert tree_get(state, "missing") is None
    assert tree_get(state, "missing", default=3) == 3


def test_get_raises_on_several_matches_and_filtering_picks_one():
    state = hand_built_state()
    with pytest.raises(KeyError, match="found 2 values for 'count'"):
        tree_get(state, "count")
    inner_only = lambda path, value: (
        isinstance(path[-1], NamedTupleKey) and path[-1].tuple_name == "InnerState"
    )
    assert int(tree_get(state, "count", filtering=inner_only)) == 1
    assert len(tree_get_all_with_path(state, "count", inner_only)) == 1


def test_paths_match_optax_on_an_injected_adam_state():
    schedule = lambda count: 0.1 / (count + 1).astype(jnp.float32)
    ours = gdx.inject_hyperparams(gdx.adam)(learning_rate=schedule)
    with optax_promotion():
        theirs = optax.inject_hyperparams(optax.adam)(learning_rate=schedule)
        their_state = theirs.init(PARAMS)
    our_state = ours.init(PARAMS)
    for key in ("learning_rate", "count", "mu", "ScaleByAdamState", "b1"):
        assert keystrs(tree_get_all_with_path(our_state, key)) == keystrs(
            optax.tree_utils.tree_get_all_with_path(their_state, key)
        ), key
    is_array = lambda path, value: isinstance(value, jax.Array)
    assert float(tree_get(our_state, "learning_rate", filtering=is_array)) == pytest.approx(0.1)


def test_set_learning_rate_inside_a_chain_changes_the_next_step():
    tx = gdx.chain(gdx.clip_by_global_norm(10.0), gdx.inject_hyperparams(gdx.sgd)(learning_rate=0.1))
    state = tx.init(PARAMS)
    grads = jax.tree.map(jnp.ones_like, PARAMS)
    new_state = tree_set(state, learning_rate=jnp.asarray(0.01, jnp.float32))
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    assert float(tree_get(new_state, "learning_rate")) == pytest.approx(0.01)
    assert float(tree_get(state, "learning_rate")) == pytest.approx(0.1)  # the input is not modified
    step = jax.jit(tx.update)
    updates, _ = step(grads, new_state, PARAMS)
    np.testing.assert_allclose(updates["w"], -0.01 * np.ones((2, 3)), rtol=1e-6)
    updates, _ = step(grads, state, PARAMS)  # same dtypes: no recompilation needed
    np.testing.assert_allclose(updates["w"], -0.1 * np.ones((2, 3)), rtol=1e-6)


def test_set_matches_optax_where_optax_is_consistent():
    state = hand_built_state()
    ours = tree_set(state, learning_rate=jnp.asarray(2.0), momentum=jnp.asarray(0.0))
    theirs = optax.tree_utils.tree_set(state, learning_rate=jnp.asarray(2.0), momentum=jnp.asarray(0.0))
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        np.testing.assert_array_equal(a, b)


def test_set_replaces_every_match_found_by_get_all():
    # optax 0.2.8 replaces only the outer count here (the inner one sits in a tuple).
    state = hand_built_state()
    new_state = tree_set(state, count=jnp.asarray(0))
    assert [int(v) for _, v in tree_get_all_with_path(new_state, "count")] == [0, 0]


def test_set_with_filtering_and_by_class_name():
    state = hand_built_state()
    outer_only = lambda path, value: path[-1] == NamedTupleKey("OuterState", "count")
    new_state = tree_set(state, outer_only, count=jnp.asarray(3))
    assert [int(v) for _, v in tree_get_all_with_path(new_state, "count")] == [3, 1]
    replacement = InnerState(jnp.asarray(5), jnp.asarray(0.2))
    new_state = tree_set(state, InnerState=replacement)
    assert new_state.inner[0] is replacement


def test_set_keeps_ordered_dicts():
    tx = gdx.named_chain(("clip", gdx.clip_by_global_norm(1.0)), ("opt", gdx.adam(1e-3)))
    state = {"opt_state": tx.init(PARAMS), "step": jnp.asarray(0)}
    new_state = tree_set(state, count=jnp.asarray(4, jnp.int32))
    assert isinstance(new_state["opt_state"], OrderedDict)
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    assert int(new_state["opt_state"]["opt"][0].count) == 4


def test_set_raises_on_a_missing_key():
    state = hand_built_state()
    with pytest.raises(KeyError, match="no value for 'nope'"):
        tree_set(state, nope=1.0)
    with pytest.raises(KeyError, match="filtering accepts"):
        tree_set(state, lambda path, value: False, count=1)
