"""`gdx.tree_map_params` against optax's."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.calls import assert_trees_close
from tests.parity.harness import make_params, optax_promotion


@pytest.mark.parametrize(
    "name, build",
    [
        ("adam", lambda lib: lib.adam(1e-3)),
        # a mask function: gdx.masked does not yet pass the placeholder through for a mask tree
        ("adamw-masked", lambda lib: lib.adamw(1e-3, mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p))),
    ],
)
def test_tree_map_params(name, build):
    params = make_params()
    ours, theirs = build(gdx), build(optax)
    with optax_promotion():
        their_state = theirs.init(params)
    our_state = ours.init(params)
    doubled = lambda p, q: jnp.asarray(2, p.dtype) * p + q
    ours_mapped = gdx.tree_map_params(ours, doubled, our_state, params, transform_non_params=lambda x: -1)
    with optax_promotion():
        theirs_mapped = optax.tree_map_params(
            theirs, doubled, their_state, params, transform_non_params=lambda x: -1
        )
    assert_trees_close(ours_mapped, theirs_mapped)
    # with a plain init function and is_leaf (the masked leaves are MaskedNodes)
    masked_node = lambda x: isinstance(x, (gdx.MaskedNode, optax.MaskedNode))
    ours_specs = gdx.tree_map_params(ours.init, lambda p: "spec", our_state, is_leaf=masked_node)
    theirs_specs = optax.tree_map_params(theirs.init, lambda p: "spec", their_state, is_leaf=masked_node)
    assert jax.tree.leaves(ours_specs).count("spec") == jax.tree.leaves(theirs_specs).count("spec") > 0
