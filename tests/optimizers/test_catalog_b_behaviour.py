"""Behaviour of catalog B beyond optax parity.

Validation (bad hyperparameters, non-float params, mismatched grads, missing
`params` or `value=`), the constraints (`zero_nans`, `keep_params_nonnegative`),
SM3 and DoG on 0-d leaves (where optax fails), noise keys, per-example input
checks, and the gdx extensions (SM3 with a schedule).
"""

import math
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import optax_promotion


def params_f32():
    return {"a": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "b": jnp.array([0.5, -2.0])}


def grads_like(params, seed=0):
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(
        treedef, [jax.random.normal(k, x.shape, jnp.float32).astype(x.dtype) for k, x in zip(keys, leaves)]
    )


def run_steps(tx, params, steps=3, **extra_args):
    state = tx.init(params)
    for step in range(steps):
        updates, state = tx.update(grads_like(params, step), state, params, **extra_args)
        params = gdx.apply_updates(params, updates)
    return params, state


# --- hyperparameter validation --------------------------------------------------------------------

BAD_CASES = [
    ("adafactor", dict(learning_rate=math.inf), "learning_rate"),
    ("adafactor", dict(learning_rate=-1e-3), "learning_rate"),
    ("adafactor", dict(min_dim_size_to_factor=-1), "min_dim_size_to_factor"),
    ("adafactor", dict(min_dim_size_to_factor=2.5), "min_dim_size_to_factor"),
    ("adafactor", dict(decay_rate=-0.8), "decay_rate"),
    ("adafactor", dict(decay_offset=-1), "decay_offset"),
    ("adafactor", dict(clipping_threshold=0.0), "clipping_threshold"),
    ("adafactor", dict(momentum=1.0), "momentum"),
    ("adafactor", dict(weight_decay_rate=-1e-4), "weight_decay_rate"),
    ("adafactor", dict(eps=-1e-30), "eps"),
    ("sm3", dict(learning_rate=-1e-2), "learning_rate"),
    ("sm3", dict(learning_rate=1e-2, momentum=1.0), "momentum"),
    ("sm3", dict(learning_rate=1e-2, momentum=-0.1), "momentum"),
    ("fromage", dict(learning_rate=math.nan), "learning_rate"),
    ("fromage", dict(learning_rate=1e-2, min_norm=-1.0), "min_norm"),
    ("noisy_sgd", dict(learning_rate=-1.0), "learning_rate"),
    ("noisy_sgd", dict(learning_rate=1e-2, eta=-0.01), "eta"),
    ("noisy_sgd", dict(learning_rate=1e-2, gamma=-0.5), "gamma"),
    ("polyak_sgd", dict(max_learning_rate=-1.0), "max_learning_rate"),
    ("polyak_sgd", dict(scaling=-1.0), "scaling"),
    ("polyak_sgd", dict(f_min=math.inf), "f_min"),
    ("polyak_sgd", dict(eps=-1e-3), "eps"),
    ("polyak_sgd", dict(variant="sps++"), "variant"),
    ("scale_by_factored_rms", dict(min_dim_size_to_factor=-2), "min_dim_size_to_factor"),
    ("scale_by_factored_rms", dict(epsilon=-1.0), "epsilon"),
    ("scale_by_factored_rms", dict(step_offset=-3), "step_offset"),
    ("scale_by_sm3", dict(b1=1.0), "b1"),
    ("scale_by_sm3", dict(b2=1.5), "b2"),
    ("scale_by_sm3", dict(eps=-1e-8), "eps"),
    ("add_noise", dict(eta=-1.0, gamma=0.55), "eta"),
    ("scale_by_polyak", dict(max_learning_rate=-1.0), "max_learning_rate"),
    ("scale_by_polyak", dict(variant="polyak"), "variant"),
    ("scale_by_distance_over_gradients", dict(reps_rel=0.0), "reps_rel"),
    ("scale_by_distance_over_gradients", dict(eps=-1.0), "eps"),
    ("scale_by_param_block_norm", dict(min_scale=-1e-3), "min_scale"),
    ("scale_by_param_block_rms", dict(min_scale=-1e-3), "min_scale"),
    ("adaptive_grad_clip", dict(clipping=0.0), "clipping"),
    ("adaptive_grad_clip", dict(clipping=0.1, eps=-1.0), "eps"),
    ("clip_by_block_rms", dict(threshold=-1.0), "threshold"),
    ("normalize_by_update_norm", dict(scale_factor=0.0), "scale_factor"),
    ("normalize_by_update_norm", dict(eps=-1.0), "eps"),
]


@pytest.mark.parametrize(
    "name, kwargs, argument", BAD_CASES, ids=[f"{n}-{a}={list(k.values())[-1]}" for n, k, a in BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_the_argument(name, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{name}: {argument} must be"):
        getattr(gdx, name)(**kwargs)


def test_learning_rate_of_wrong_type_raises_type_error():
    with pytest.raises(TypeError, match="sm3: learning_rate"):
        gdx.sm3("fast")  # type: ignore[arg-type]


def test_traced_hyperparameters_are_accepted():
    @jax.jit
    def step(lr, momentum):
        tx = gdx.adafactor(lr, momentum=momentum, weight_decay_rate=lr)
        params = params_f32()
        updates, _ = tx.update(params, tx.init(params), params)
        return updates

    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(step(0.01, 0.9)))


# --- params and grads -------------------------------------------------------------------------------

NAMED = {
    "adafactor": lambda: gdx.adafactor(1e-2, min_dim_size_to_factor=2),
    "sm3": lambda: gdx.sm3(1e-2),
    "fromage": lambda: gdx.fromage(1e-2),
    "noisy_sgd": lambda: gdx.noisy_sgd(1e-2, key=0),
    "polyak_sgd": lambda: gdx.polyak_sgd(),
}


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_], ids=["int32", "bool"])
@pytest.mark.parametrize("name", NAMED)
def test_non_float_params_raise_type_error_at_init(name, dtype):
    params = {"w": jnp.ones(3), "steps": jnp.zeros(2, dtype)}
    with pytest.raises(TypeError, match=rf"{name}: params leaf at \['steps'\]"):
        NAMED[name]().init(params)


# Transformations that keep per-leaf state (or check the grads against the params).
PER_LEAF = {
    "adafactor": NAMED["adafactor"],
    "sm3": NAMED["sm3"],
    "scale_by_factored_rms": lambda: gdx.scale_by_factored_rms(min_dim_size_to_factor=2),
    "scale_by_sm3": lambda: gdx.scale_by_sm3(),
    "scale_by_distance_over_gradients": lambda: gdx.scale_by_distance_over_gradients(),
    "zero_nans": lambda: gdx.zero_nans(),
    "adaptive_grad_clip": lambda: gdx.adaptive_grad_clip(0.1),
    "scale_by_param_block_rms": lambda: gdx.scale_by_param_block_rms(),
    "keep_params_nonnegative": lambda: gdx.keep_params_nonnegative(),
}


@pytest.mark.parametrize("name", PER_LEAF)
def test_grads_with_another_structure_raise_naming_the_path(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    state = tx.init(params)
    grads = {"a": params["a"], "c": params["b"]}
    with pytest.raises(ValueError, match=re.escape("['c']")):
        tx.update(grads, state, params)


@pytest.mark.parametrize("name", [n for n in PER_LEAF if n != "zero_nans"])
def test_grads_with_another_shape_raise_naming_the_path(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    state = tx.init(params)
    grads = {"a": params["a"], "b": jnp.ones(5)}
    with pytest.raises(ValueError, match=re.escape("['b'] has shape (5,)")):
        tx.update(grads, state, params)


NEEDS_PARAMS = [
    "adafactor",
    "fromage",
    "scale_by_factored_rms",
    "scale_by_distance_over_gradients",
    "adaptive_grad_clip",
    "scale_by_param_block_rms",
    "keep_params_nonnegative",
]


@pytest.mark.parametrize("name", NEEDS_PARAMS)
def test_missing_params_is_a_clear_error(name):
    tx = PER_LEAF[name]() if name in PER_LEAF else NAMED[name]()
    params = params_f32()
    with pytest.raises(ValueError, match="needs params"):
        tx.update(params, tx.init(params))


@pytest.mark.parametrize("name", ["polyak_sgd", "scale_by_polyak"])
def test_polyak_without_value_names_value(name):
    tx = getattr(gdx, name)()
    params = params_f32()
    # TypeError, as optax's (its `value` is a required keyword-only argument of update).
    with pytest.raises(TypeError, match=r"value=loss"):
        tx.update(params, tx.init(params), params)


# --- polyak ---------------------------------------------------------------------------------------


def test_polyak_sgd_follows_the_polyak_step():
    # f(x) = |x|^2 with f_min = 0: the Polyak step 1/4 halves x, as in optax's docstring example.
    tx = gdx.polyak_sgd()
    params = jnp.array([1.0, 2.0, 3.0])
    state = tx.init(params)
    for _ in range(3):
        value, grad = jax.value_and_grad(lambda x: jnp.sum(x**2))(params)
        updates, state = tx.update(grad, state, params, value=value)
        params = gdx.apply_updates(params, updates)
    np.testing.assert_allclose(params, np.array([1.0, 2.0, 3.0]) / 8)


def test_polyak_zero_gradient_gives_a_zero_step_not_nan():
    tx = gdx.scale_by_polyak()
    updates, _ = tx.update({"w": jnp.zeros(3)}, tx.init(None), value=jnp.array(1.0))
    np.testing.assert_array_equal(updates["w"], np.zeros(3))


def test_polyak_sps_plus_never_ascends():
    tx = gdx.scale_by_polyak(f_min=5.0, variant="sps+")
    updates, _ = tx.update({"w": jnp.ones(3)}, tx.init(None), value=jnp.array(1.0))
    np.testing.assert_array_equal(updates["w"], np.zeros(3))


# --- constraints ---------------------------------------------------------------------------------------


def test_zero_nans_replaces_nans_and_records_where():
    tx = gdx.zero_nans()
    params = {"a": jnp.zeros(3), "b": jnp.zeros(2), "c": jnp.zeros(())}
    state = tx.init(params)
    assert not any(bool(x) for x in jax.tree.leaves(state.found_nan))
    grads = {"a": jnp.array([1.0, jnp.nan, jnp.inf]), "b": jnp.array([2.0, -1.0]), "c": jnp.array(jnp.nan)}
    updates, state = jax.jit(tx.update)(grads, state)
    np.testing.assert_array_equal(updates["a"], np.array([1.0, 0.0, np.inf]))  # inf is not NaN: kept
    np.testing.assert_array_equal(updates["b"], grads["b"])
    assert float(updates["c"]) == 0.0
    assert state.found_nan == {"a": True, "b": False, "c": True}
    assert all(x.dtype == jnp.bool_ and x.shape == () for x in jax.tree.leaves(state.found_nan))
    # The flags describe the last update only.
    _, state = tx.update(params, state)
    assert not any(bool(x) for x in jax.tree.leaves(state.found_nan))


def test_zero_nans_keeps_bfloat16():
    tx = gdx.zero_nans()
    grads = {"a": jnp.array([jnp.nan, 1.0], jnp.bfloat16)}
    updates, _ = tx.update(grads, tx.init(grads))
    assert updates["a"].dtype == jnp.bfloat16
    np.testing.assert_array_equal(updates["a"].astype(jnp.float32), np.array([0.0, 1.0]))


def test_keep_params_nonnegative_clamps_at_zero():
    tx = gdx.chain(gdx.sgd(1.0), gdx.keep_params_nonnegative())
    params = {"w": jnp.array([0.5, 2.0, 0.0, -1.0]), "s": jnp.array(0.25, jnp.bfloat16)}
    grads = {"w": jnp.array([1.0, 1.0, -1.0, 0.0]), "s": jnp.array(1.0, jnp.bfloat16)}
    updates, _ = tx.update(grads, tx.init(params), params)
    new_params = gdx.apply_updates(params, updates)
    # 0.5 - 1 < 0 lands on 0; 2 - 1 stays; 0 + 1 stays; an already negative param is moved to 0.
    np.testing.assert_array_equal(new_params["w"], np.array([0.0, 1.0, 1.0, 0.0]))
    assert new_params["s"].dtype == jnp.bfloat16 and float(new_params["s"]) == 0.0


# --- SM3 on scalars, and with a schedule -------------------------------------------------------------


def test_sm3_treats_a_scalar_as_a_one_element_vector():
    # optax's sm3 raises IndexError on a 0-d leaf; gdx runs, and the scalar gets the
    # numbers of the same value held in a shape-(1,) leaf.
    scalar = {"s": jnp.array(0.7)}
    vector = {"s": jnp.array([0.7])}
    tx = gdx.sm3(0.1)
    state = tx.init(scalar)
    assert [x.shape for x in state[0].mu["s"]] == [()]
    got_scalar, state = run_steps(tx, scalar, steps=5)
    got_vector, _ = run_steps(tx, vector, steps=5)
    assert got_scalar["s"].shape == ()
    np.testing.assert_allclose(got_scalar["s"], got_vector["s"][0], rtol=1e-6)
    with optax_promotion(), pytest.raises(IndexError):
        run_steps(optax.sm3(0.1), scalar, steps=1)


def test_sm3_with_a_scalar_leaf_matches_optax_on_the_other_leaves():
    params = {**params_f32(), "s": jnp.array(0.3)}
    got, _ = run_steps(gdx.sm3(0.05), params, steps=4)
    others = {"a": params["a"], "b": params["b"]}
    state = optax.sm3(0.05).init(others)
    expected = others
    with optax_promotion():
        tx = optax.sm3(0.05)
        for step in range(4):
            grads = grads_like(params, step)
            updates, state = tx.update({"a": grads["a"], "b": grads["b"]}, state, expected)
            expected = optax.apply_updates(expected, updates)
    for key in ("a", "b"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6, atol=1e-7)


def test_sm3_accepts_a_schedule():
    tx = gdx.sm3(lambda count: 0.1 / (1 + count.astype(jnp.float32)))
    params, state = run_steps(tx, params_f32(), steps=3)
    assert int(state[1].count) == 3
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(params))


def test_scale_by_sm3_rejects_complex_params():
    with pytest.raises(ValueError, match="complex"):
        gdx.scale_by_sm3().init({"z": jnp.ones(2, jnp.complex64)})


# --- DoG ------------------------------------------------------------------------------------------------


def test_distance_over_gradients_keeps_shapes_and_state_dtypes():
    params = {"s": jnp.array(0.5), "w": jnp.ones((2, 3), jnp.bfloat16)}
    tx = gdx.scale_by_distance_over_gradients(global_scale=-1.0)
    state = tx.init(params)
    updates, new_state = jax.jit(tx.update)(grads_like(params), state, params)
    assert updates["s"].shape == () and updates["w"].dtype == jnp.bfloat16
    for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        assert before.dtype == after.dtype and before.shape == after.shape
    assert new_state.max_dist["w"].dtype == jnp.float32  # promoted with param_dtype from the start


def test_distance_over_gradients_first_step_is_reps_rel_sized():
    params = {"w": jnp.array([3.0, 4.0])}  # norm 5
    tx = gdx.scale_by_distance_over_gradients(reps_rel=1e-2, eps=0.0)
    updates, _ = tx.update({"w": jnp.array([0.0, 2.0])}, tx.init(params), params)
    # d = 1e-2 * (1 + 5); G = 4: u = d / 2 * g
    np.testing.assert_allclose(updates["w"], np.array([0.0, 0.06]), rtol=1e-6)


# --- noise ------------------------------------------------------------------------------------------------


def test_add_noise_same_key_same_noise_other_key_other_noise():
    params = params_f32()
    zeros = jax.tree.map(jnp.zeros_like, params)

    def noise(key):
        tx = gdx.add_noise(1.0, 0.0, key)
        return tx.update(zeros, tx.init(params))[0]

    a, b, c = noise(0), noise(jax.random.key(0)), noise(1)
    np.testing.assert_array_equal(a["a"], b["a"])
    assert not np.array_equal(a["a"], c["a"])
    assert float(jnp.std(a["a"])) > 0.1


def test_add_noise_seed_is_deprecated_and_exclusive_with_key():
    with pytest.warns(DeprecationWarning, match="seed"):
        by_seed = gdx.noisy_sgd(1.0, seed=5)
    by_key = gdx.noisy_sgd(1.0, key=5)
    params = params_f32()
    state_seed, state_key = by_seed.init(params), by_key.init(params)
    np.testing.assert_array_equal(
        jax.random.key_data(state_seed[0].rng_key), jax.random.key_data(state_key[0].rng_key)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError, match="seed"):
            gdx.add_noise(0.01, 0.55, key=1, seed=1)


def test_noisy_sgd_variance_anneals():
    params = {"w": jnp.zeros(20_000)}
    tx = gdx.noisy_sgd(1.0, eta=1.0, gamma=1.0, key=0)
    state = tx.init(params)
    spreads = []
    for _ in range(4):
        updates, state = tx.update(jax.tree.map(jnp.zeros_like, params), state, params)
        spreads.append(float(jnp.std(updates["w"])))
    # sigma_t = sqrt(1 / t)
    np.testing.assert_allclose(spreads, [1.0, 0.5**0.5, (1 / 3) ** 0.5, 0.5], rtol=0.03)


# --- adaptive and per-example clipping --------------------------------------------------------------------


def test_adaptive_grad_clip_needs_axis_for_rank_six():
    params = {"x": jnp.ones((1, 2, 1, 2, 1, 2))}
    tx = gdx.adaptive_grad_clip(0.1)
    with pytest.raises(ValueError, match="axis"):
        tx.update(params, tx.init(params), params)


def test_adaptive_grad_clip_bounds_the_unit_norms():
    params = {"w": jnp.ones((3, 2))}
    grads = {"w": jnp.array([[10.0, 0.01], [0.0, 0.0], [0.0, 0.0]])}
    tx = gdx.adaptive_grad_clip(0.1)
    updates, _ = tx.update(grads, tx.init(params), params)
    # Column norms of the params are sqrt(3): column 0 is clipped to 0.1 * sqrt(3), column 1 kept.
    np.testing.assert_allclose(jnp.linalg.norm(updates["w"], axis=0), [0.1 * 3**0.5, 0.01], rtol=1e-6)


@pytest.mark.parametrize("fn", ["per_example_global_norm_clip", "per_example_layer_norm_clip"])
def test_per_example_clipping_needs_a_common_batch_axis(fn):
    with pytest.raises(ValueError, match="batch axis"):
        getattr(gdx, fn)({"a": jnp.ones((4, 2)), "b": jnp.ones((3, 2))}, 1.0)
    with pytest.raises(ValueError, match="batch axis"):
        getattr(gdx, fn)({"a": jnp.ones((4, 2)), "s": jnp.ones(())}, 1.0)
    with pytest.raises(ValueError, match="must be >= 0"):
        getattr(gdx, fn)({"a": jnp.ones((4, 2))}, -1.0)


def test_per_example_global_norm_clip_counts_clipped_examples():
    grads = [jnp.array([[0.0, 0.0, 0.0], [0.0, 3.0, 4.0], [4.0, 0.0, 3.0], [3.0, 4.0, 0.0]])]
    total, clipped = gdx.per_example_global_norm_clip(grads, 1.25)
    np.testing.assert_allclose(total[0], [1.75, 1.75, 1.75])
    assert clipped.dtype == jnp.int32 and int(clipped) == 3


# --- scale_gradient -------------------------------------------------------------------------------------


def test_scale_gradient_with_a_traced_scale_and_bfloat16():
    x = jnp.array([1.0, 2.0], jnp.bfloat16)

    @jax.jit
    def grad(scale):
        return jax.grad(lambda x: jnp.sum(gdx.scale_gradient(x, scale).astype(jnp.float32) ** 2))(x)

    g = grad(jnp.array(0.5, jnp.float32))
    assert g.dtype == jnp.bfloat16
    np.testing.assert_array_equal(g.astype(jnp.float32), np.array([1.0, 2.0]))


def test_scale_gradient_leaves_values_unchanged():
    tree = {"a": jnp.arange(3.0), "b": (jnp.ones(2),)}
    out = gdx.scale_gradient(tree, 0.3)
    assert jax.tree.structure(out) == jax.tree.structure(tree)
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(tree)):
        np.testing.assert_array_equal(a, b)
