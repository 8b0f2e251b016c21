"""Core protocol: combinators, laws, extra-argument forwarding, optax interop, tree helpers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdx
from gdx._common.dtypes import tree_zeros_like
from gdx._common.moments import bias_correction, safe_increment
from tests.parity.harness import assert_parity, make_params, optax_promotion, random_grads

# A fixed pool of members for the property tests: every new shape would recompile.
MEMBERS = {
    "identity": lambda: gdx.identity(),
    "scale": lambda: gdx.scale(0.5),
    "adam": lambda: gdx.scale_by_adam(),
    "clip": lambda: gdx.clip_by_global_norm(1.0),
    "trace": lambda: gdx.trace(decay=0.9),
}
PARAMS = {"w": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "b": jnp.array(0.5)}


def run(tx, steps=3):
    state = tx.init(PARAMS)
    outputs = []
    for i in range(steps):
        grads = random_grads(jax.random.key(i), PARAMS)
        updates, state = tx.update(grads, state, PARAMS)
        outputs.append(updates)
    return outputs


def assert_same_updates(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(sorted(MEMBERS)), min_size=3, max_size=3))
def test_chain_is_associative(names):
    a, b, c = (MEMBERS[n]() for n in names)
    assert_same_updates(run(gdx.chain(gdx.chain(a, b), c)), run(gdx.chain(a, gdx.chain(b, c))))


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(sorted(MEMBERS)))
def test_identity_is_a_unit_of_chain(name):
    tx = MEMBERS[name]()
    expected = run(tx)
    assert_same_updates(run(gdx.chain(gdx.identity(), tx)), expected)
    assert_same_updates(run(gdx.chain(tx, gdx.identity())), expected)


def test_empty_chain_is_identity():
    grads = {"w": jnp.ones(2)}
    updates, state = gdx.chain().update(grads, gdx.chain().init(grads))
    assert state == ()
    np.testing.assert_array_equal(updates["w"], grads["w"])


def test_chain_state_layout_is_a_tuple_of_member_states():
    state = gdx.chain(gdx.identity(), gdx.scale_by_adam()).init(PARAMS)
    assert isinstance(state, tuple) and len(state) == 2
    assert isinstance(state[0], gdx.EmptyState)
    assert state[1]._fields == ("count", "mu", "nu")


def test_chain_rejects_a_state_of_the_wrong_length():
    tx = gdx.chain(gdx.identity(), gdx.identity())
    with pytest.raises(ValueError, match="2 transformations"):
        tx.update(PARAMS, (gdx.EmptyState(),))


def test_named_chain_rejects_duplicate_names():
    with pytest.raises(ValueError, match="unique"):
        gdx.named_chain(("a", gdx.identity()), ("a", gdx.identity()))


def _recording_transform(seen):
    def update(updates, state, params=None, **extra_args):
        seen.append(extra_args)
        return updates, state

    return gdx.GradientTransformation(lambda params: gdx.EmptyState(), update)


def test_extra_args_are_forwarded_through_chain_and_named_chain():
    seen = []
    tx = gdx.chain(gdx.scale(1.0), gdx.named_chain(("inner", _recording_transform(seen))))
    tx.update(PARAMS, tx.init(PARAMS), PARAMS, value=jnp.array(3.0))
    assert len(seen) == 1 and float(seen[0]["value"]) == 3.0


def test_plain_optax_member_inside_gdx_chain_gets_no_extra_args():
    plain = optax.GradientTransformation(lambda p: optax.EmptyState(), lambda u, s, p=None: (u, s))
    tx = gdx.chain(plain, gdx.scale(2.0))
    updates, _ = tx.update(PARAMS, tx.init(PARAMS), PARAMS, value=1.0)
    np.testing.assert_array_equal(updates["w"], 2 * PARAMS["w"])


def test_gdx_optimizer_inside_optax_chain_matches_optax():
    # Both sides contain optax code, so both run under standard promotion.
    gdx_side = optax.chain(optax.clip_by_global_norm(1.0), gdx.adam(1e-2))
    optax_side = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))
    assert_parity(gdx_side, optax_side, steps=30, gdx_promotion="standard")


def test_optax_accepts_gdx_state_in_its_own_optimizer_update():
    # A gdx state has the leaves of the optax state (same fields, same order).
    params = make_params(1)
    gdx_state = gdx.adam(1e-3).init(params)
    with optax_promotion():
        optax_state = optax.adam(1e-3).init(params)
    gdx_paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(gdx_state)[0]]
    optax_paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(optax_state)[0]]
    assert gdx_paths == optax_paths


def test_set_to_zero_and_stateless():
    updates, _ = gdx.set_to_zero().update(PARAMS, gdx.EmptyState())
    assert all(float(jnp.sum(jnp.abs(u))) == 0 for u in jax.tree.leaves(updates))
    double = gdx.stateless(lambda u, p: jax.tree.map(lambda x: 2 * x, u))
    updates, _ = double.update(PARAMS, double.init(PARAMS))
    np.testing.assert_array_equal(updates["b"], 2 * PARAMS["b"])


def test_apply_updates_keeps_param_dtypes_and_none_leaves():
    params = {"a": jnp.ones(2, jnp.bfloat16), "b": None, "c": jnp.ones(2)}
    updates = {"a": jnp.full(2, 0.5, jnp.float32), "b": None, "c": jnp.full(2, 0.5)}
    new = gdx.apply_updates(params, updates)
    assert new["a"].dtype == jnp.bfloat16 and new["b"] is None
    np.testing.assert_array_equal(new["c"], 1.5 * np.ones(2))


def test_safe_increment_saturates_at_int32_max():
    top = jnp.iinfo(jnp.int32).max
    assert int(safe_increment(jnp.array(top - 1, jnp.int32))) == top
    assert int(safe_increment(jnp.array(top, jnp.int32))) == top
    assert gdx.safe_int32_increment is gdx.safe_increment


def test_bias_correction_stays_finite_at_the_counter_limit():
    top = jnp.array(jnp.iinfo(jnp.int32).max, jnp.int32)
    corrected = bias_correction(jnp.ones(3), 0.999, top)
    assert bool(jnp.all(jnp.isfinite(corrected)))


def test_global_norm_matches_optax_including_bfloat16():
    tree = make_params(5)
    with optax_promotion():
        expected = optax.global_norm(tree)
    np.testing.assert_allclose(gdx.global_norm(tree), expected, rtol=1e-6)


def test_tree_zeros_like_with_dtype_override():
    zeros = tree_zeros_like(PARAMS, jnp.bfloat16)
    assert all(z.dtype == jnp.bfloat16 and float(jnp.sum(z)) == 0 for z in jax.tree.leaves(zeros))


def test_with_extra_args_support_rejects_non_transformations():
    with pytest.raises(TypeError, match="GradientTransformation"):
        gdx.chain(object())  # type: ignore[arg-type]


def test_extra_args_is_a_real_subclass_as_in_optax():
    """A plain `GradientTransformation` whose update takes no `**extra_args` is not ExtraArgs."""

    def plain_update(updates, state, params=None):
        return updates, state

    plain = gdx.GradientTransformation(lambda params: gdx.EmptyState(), plain_update)
    assert not isinstance(plain, gdx.GradientTransformationExtraArgs)
    assert issubclass(gdx.GradientTransformationExtraArgs, gdx.GradientTransformation)
    for tx in (
        gdx.adam(1e-3),
        gdx.chain(gdx.clip(1.0), gdx.sgd(0.1)),
        gdx.identity(),
        gdx.masked(gdx.sgd(1.0), {}),
    ):
        assert isinstance(tx, gdx.GradientTransformationExtraArgs), tx
    wrapped = gdx.with_extra_args_support(plain)
    assert isinstance(wrapped, gdx.GradientTransformationExtraArgs)
    assert gdx.with_extra_args_support(wrapped) is wrapped
    params = {"w": jnp.ones(2)}
    updates, _ = wrapped.update(params, wrapped.init(params), None, value=jnp.asarray(1.0))
    assert jnp.array_equal(updates["w"], params["w"])


def test_public_signatures_carry_annotation_objects():
    """optax's tests read `inspect.signature(opt)` to decide that an optimizer takes a schedule."""
    import inspect

    assert inspect.signature(gdx.adam).parameters["learning_rate"].annotation is gdx.ScalarOrSchedule
    assert inspect.signature(gdx.sgd).parameters["learning_rate"].annotation is gdx.ScalarOrSchedule
