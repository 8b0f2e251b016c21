"""Core against optax: chain of optax members, identity, set_to_zero, apply_updates, stateless helpers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, make_params, optax_promotion


def test_identity_and_set_to_zero_match_optax():
    assert_parity(gdx.identity(), optax.identity(), steps=5)
    assert_parity(gdx.set_to_zero(), optax.set_to_zero(), steps=5)


def test_gdx_chain_of_optax_members_matches_optax_chain():
    members = (optax.scale_by_adam(), optax.scale(-1e-2))
    # optax members cannot run under strict promotion, so this gdx side runs standard.
    assert_parity(gdx.chain(*members), optax.chain(*members), steps=50, gdx_promotion="standard")


def test_named_chain_state_is_keyed_by_name():
    tx = gdx.named_chain(("first", optax.scale_by_adam()), ("lr", optax.scale(-0.1)))
    state = tx.init({"w": jnp.ones(3)})
    assert list(state) == ["first", "lr"]
    reference = optax.named_chain(("first", optax.scale_by_adam()), ("lr", optax.scale(-0.1)))
    assert_parity(tx, reference, steps=20, gdx_promotion="standard")


def test_apply_updates_matches_optax_on_mixed_dtypes():
    params = make_params(3)
    updates = make_params(4)
    got = gdx.apply_updates(params, updates)
    with optax_promotion():
        expected = optax.apply_updates(params, updates)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))


def test_init_empty_state():
    assert gdx.init_empty_state(make_params()) == gdx.EmptyState() == optax.init_empty_state(None)


def test_stateless_with_tree_map():
    def weight_decayed(update, param):
        return update + 0.01 * param

    assert_parity(
        gdx.chain(gdx.stateless_with_tree_map(weight_decayed), gdx.scale(-0.1)),
        optax.chain(optax.stateless_with_tree_map(weight_decayed), optax.scale(-0.1)),
        steps=20,
    )


def test_stateless_with_tree_map_without_params():
    tx = gdx.stateless_with_tree_map(lambda u, p: u * 2 if p is None else u)
    updates, state = tx.update({"a": jnp.ones(2)}, tx.init(None), extra="ignored")
    np.testing.assert_array_equal(updates["a"], 2 * np.ones(2))
    assert state == gdx.EmptyState()


def test_with_extra_args_support_matches_optax():
    # The wrapped transform ignores the extra args it is given, as optax's does.
    assert_parity(
        gdx.with_extra_args_support(gdx.adam(1e-2)),
        optax.with_extra_args_support(optax.adam(1e-2)),
        steps=30,
        extra_args=lambda params, step: {"step": step},
    )


@pytest.mark.parametrize("name", ["safe_increment", "safe_int32_increment"])
def test_safe_increments_match_optax(name):
    # int32 counts below, at and next to the largest int32 (where the increment saturates),
    # and a float32 count.
    top = np.iinfo(np.int32).max
    counts = [jnp.asarray(c, jnp.int32) for c in (0, 1, 41, top - 1, top)] + [jnp.float32(7.0)]
    for count in counts:
        got = jax.jit(getattr(gdx, name))(count)
        with optax_promotion():
            expected = jax.jit(getattr(optax, name))(count)
        assert got.dtype == expected.dtype, (count, got.dtype, expected.dtype)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
