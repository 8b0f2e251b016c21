"""Behaviour of clipping, momentum, decay, trust ratio, lion, masked and the basic optimizers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdx


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


# --- params are required where they are used ------------------------------------------------


@pytest.mark.parametrize(
    "name, tx",
    [
        ("add_decayed_weights", gdx.add_decayed_weights(0.1)),
        ("add_decayed_weights", gdx.add_decayed_weights(0.1, mask={"w": True, "b": False})),
        ("scale_by_trust_ratio", gdx.scale_by_trust_ratio()),
        ("add_decayed_weights", gdx.lars(0.1)),  # its first member, even at weight_decay=0
        ("add_decayed_weights", gdx.lamb(0.1, weight_decay=0.1)),
    ],
)
def test_missing_params_raise_naming_the_transform(name, tx):
    with pytest.raises(ValueError, match=f"{name} needs params"):
        tx.update(GRADS, tx.init(PARAMS))


# --- trace and ema ---------------------------------------------------------------------------


def test_trace_nesterov_differs_and_matches_the_rule():
    plain, _ = run(gdx.trace(0.5), steps=2)
    nesterov, _ = run(gdx.trace(0.5, nesterov=True), steps=2)
    g = GRADS["b"]
    np.testing.assert_allclose(plain["b"], g + 0.5 * g)  # t2 = g + 0.5 * t1, t1 = g
    np.testing.assert_allclose(nesterov["b"], g + 0.5 * (g + 0.5 * g))
    assert not np.allclose(plain["b"], nesterov["b"])


def test_ema_debiased_constant_input_is_the_input():
    updates, state = run(gdx.ema(0.9), steps=5)
    np.testing.assert_allclose(updates["b"], GRADS["b"], rtol=1e-6)
    assert state.count.dtype == jnp.int32 and int(state.count) == 5


def test_accumulator_dtype_stays_put_and_updates_keep_grads_dtype():
    for tx, field in [
        (gdx.trace(0.9, accumulator_dtype=jnp.bfloat16), "trace"),
        (gdx.ema(0.9, accumulator_dtype=jnp.bfloat16), "ema"),
        (gdx.scale_by_lion(mu_dtype=jnp.bfloat16), "mu"),
    ]:
        updates, state = run(tx)
        assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(getattr(state, field)))
        assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(updates))


def test_bfloat16_state_survives_float32_hyperparameters_under_scan():
    # optax's trace would turn this bfloat16 state into float32 and break lax.scan.
    params = {"w": jnp.ones((4,), jnp.bfloat16)}
    tx = gdx.lars(0.1, weight_decay=lambda count: 1e-2 * 0.9 ** count.astype(jnp.float32))

    def body(carry, _):
        params, state = carry
        updates, state = tx.update({"w": jnp.full((4,), 0.5, jnp.bfloat16)}, state, params)
        return (gdx.apply_updates(params, updates), state), None

    (params, state), _ = jax.jit(lambda c: jax.lax.scan(body, c, length=3))((params, tx.init(params)))
    assert params["w"].dtype == jnp.bfloat16
    assert state[3].trace["w"].dtype == jnp.bfloat16


# --- clipping --------------------------------------------------------------------------------


def test_clip_by_global_norm_rescales_to_max_norm_only_when_above():
    norm = float(jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(GRADS))))
    clipped, _ = run(gdx.clip_by_global_norm(1.0), steps=1)
    np.testing.assert_allclose(gdx.global_norm(clipped), 1.0, rtol=1e-6)
    untouched, _ = run(gdx.clip_by_global_norm(norm * 1.01), steps=1)
    assert_trees_equal(untouched, GRADS)


def test_clip_bounds_each_element():
    clipped, _ = run(gdx.clip(1.5), steps=1)
    np.testing.assert_array_equal(clipped["b"], jnp.array([1.0, -1.5, 1.5]))


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


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: gdx.sgd(float("inf")), "learning_rate"),
        (lambda: gdx.sgd(-0.1), "learning_rate"),
        (lambda: gdx.sgd(0.1, momentum=1.0), "momentum"),
        (lambda: gdx.sgd(0.1, momentum=-0.1), "momentum"),
        (lambda: gdx.lion(-1e-3), "learning_rate"),
        (lambda: gdx.lion(1e-3, b1=1.0), "b1"),
        (lambda: gdx.lion(1e-3, b2=-0.5), "b2"),
        (lambda: gdx.lion(1e-3, weight_decay=-1e-3), "weight_decay"),
        (lambda: gdx.lamb(1e-3, b1=1.5), "b1"),
        (lambda: gdx.lamb(1e-3, b2=1.0), "b2"),
        (lambda: gdx.lamb(1e-3, eps=-1e-6), "eps"),
        (lambda: gdx.lamb(1e-3, weight_decay=-0.1), "weight_decay"),
        (lambda: gdx.lars(-1.0), "learning_rate"),
        (lambda: gdx.lars(0.1, weight_decay=-1e-4), "weight_decay"),
        (lambda: gdx.lars(0.1, eps=-1.0), "eps"),
        (lambda: gdx.lars(0.1, momentum=1.0), "momentum"),
        (lambda: gdx.clip_by_global_norm(0.0), "max_norm"),
        (lambda: gdx.clip_by_global_norm(-1.0), "max_norm"),
        (lambda: gdx.ema(1.0), "decay"),
        (lambda: gdx.scale_by_lion(mode="soft"), "mode"),
    ],
)
def test_bad_hyperparameters_are_rejected_naming_the_argument(build, name):
    with pytest.raises(ValueError, match=name):
        build()


def test_schedules_are_accepted_as_learning_rate_and_weight_decay():
    schedule = lambda count: 0.1 * 0.9 ** count.astype(jnp.float32)
    for tx in (gdx.sgd(schedule), gdx.lion(schedule, weight_decay=schedule), gdx.lars(schedule)):
        updates, _ = run(tx, steps=2)
        assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))


@pytest.mark.parametrize("name", ["sgd", "lion", "lamb", "lars"])
def test_integer_params_rejected_at_init(name):
    tx = getattr(gdx, name)(0.1)
    with pytest.raises(TypeError, match=name):
        tx.init({"w": jnp.ones(3), "steps": jnp.zeros((), jnp.int32)})


@pytest.mark.parametrize(
    "tx, who",
    [
        (gdx.trace(0.9), "trace"),
        (gdx.ema(0.9), "ema"),
        (gdx.scale_by_lion(), "scale_by_lion"),
        (gdx.sgd(0.1, momentum=0.9), "trace"),
    ],
)
def test_grads_with_another_structure_raise_naming_the_path(tx, who):
    state = tx.init(PARAMS)
    with pytest.raises(ValueError, match=rf"{who}.*\['w'\]"):
        tx.update({"b": GRADS["b"], "v": GRADS["w"]}, state, PARAMS)
