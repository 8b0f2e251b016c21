"""Behaviour of madgrad, acprop, normalize, split_real_and_imaginary, DP-SGD, GaLore and Sophia
beyond optax parity: validation, the transformations that do not fit tests/test_contract.py
(extra arguments, per-example grads), and properties that follow from each paper's rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.parity.harness import make_params

BAD_HYPERPARAMETERS = [
    ("madgrad", dict(learning_rate=0.1), "momentum", 1.0),
    ("madgrad", dict(learning_rate=0.1), "eps", -1.0),
    ("madgrad", dict(learning_rate=0.1), "weight_decay", -1.0),
    ("scale_by_madgrad", {}, "learning_rate", -0.1),
    ("acprop", dict(learning_rate=0.1), "b1", 1.0),
    ("acprop", dict(learning_rate=0.1), "b2", -0.1),
    ("acprop", dict(learning_rate=0.1), "eps_root", -1.0),
    ("scale_by_acprop", {}, "eps", -1.0),
    ("differentially_private_aggregate", dict(noise_multiplier=1.0), "l2_norm_clip", 0.0),
    ("differentially_private_aggregate", dict(l2_norm_clip=1.0), "noise_multiplier", -1.0),
    ("dpsgd", dict(learning_rate=0.1, l2_norm_clip=1.0, noise_multiplier=1.0, seed=0), "momentum", 1.5),
    ("dpsgd", dict(l2_norm_clip=1.0, noise_multiplier=1.0, seed=0), "learning_rate", -0.1),
    ("galore", dict(learning_rate=0.1), "rank", 0),
    ("galore", dict(learning_rate=0.1), "update_proj_gap", 0),
    ("galore", dict(learning_rate=0.1), "scale", float("nan")),
    ("scale_by_galore", {}, "update_proj_gap", 2.5),
    ("sophia", dict(learning_rate=0.1), "b1", 1.0),
    ("sophia", dict(learning_rate=0.1), "gamma", -0.01),
    ("sophia", dict(learning_rate=0.1), "clip_threshold", 0.0),
    ("sophia", dict(learning_rate=0.1), "update_interval", 0),
    ("sophia", dict(learning_rate=0.1, verbose=True), "print_win_rate_every_n_steps", 0),
]


@pytest.mark.parametrize(("name", "base", "argument", "value"), BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_are_rejected_naming_the_argument(name, base, argument, value):
    with pytest.raises(ValueError, match=rf"{name}: {argument} must be"):
        getattr(gdx, name)(**{**base, argument: value})


def test_galore_rank_must_be_an_int():
    with pytest.raises(TypeError, match="rank must be an int"):
        gdx.galore(0.1, rank=2.0)  # type: ignore[arg-type]


# --- transformations outside the contract suite: jit once, dtypes kept, state of arrays ----

MIXED = make_params(0)  # float32 leaves and a bfloat16 one


def objective(params):
    return sum(
        jnp.sum(0.5 * x.astype(jnp.float32) ** 2 + 0.1 * x.astype(jnp.float32) ** 4)
        for x in jax.tree.leaves(params)
    )


def _per_example(params, batch=3):
    return jax.tree.map(lambda x: jnp.stack([x * (i + 1) for i in range(batch)]), params)


TRANSFORMS = {
    "sophia": (lambda: gdx.sophia(0.01, update_interval=2), lambda p: p, {"obj_fn": objective}),
    "dpsgd": (lambda: gdx.dpsgd(0.1, 1.0, 0.5, seed=0, momentum=0.9), _per_example, {}),
    "normalize": (gdx.normalize, lambda p: p, {}),
    "split_real_and_imaginary": (lambda: gdx.split_real_and_imaginary(gdx.adam(0.1)), lambda p: p, {}),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_jits_once_keeps_dtypes_and_state_is_arrays(name):
    make, grads_of, extra = TRANSFORMS[name]
    tx, traces = make(), []

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = tx.update(grads_of(params), state, params, **extra)
        return gdx.apply_updates(params, updates), state, updates

    params, state = MIXED, tx.init(MIXED)
    for _ in range(3):
        params, new_state, updates = step(params, state)
        assert jax.tree.structure(new_state) == jax.tree.structure(state)
        for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
            assert (
                isinstance(after, jax.Array) and before.dtype == after.dtype and before.shape == after.shape
            )
        state = new_state
    assert len(traces) == 1
    for update, param in zip(jax.tree.leaves(updates), jax.tree.leaves(MIXED)):
        assert update.dtype == param.dtype and update.shape == param.shape
        assert bool(jnp.all(jnp.isfinite(update.astype(jnp.float32))))


# --- MADGRAD ---------------------------------------------------------------------------------


def test_madgrad_first_step_and_missing_params():
    # Step 1 (k = 0): lamb = lr + eps; z = x0 - lamb g / (cbrt(lamb g^2) + eps); x <- 0.1 z + 0.9 x.
    lr, eps, g, x = 0.1, 1e-6, jnp.array([2.0, -0.5]), jnp.array([1.0, 1.0])
    tx = gdx.madgrad(lr)
    updates, _ = tx.update({"x": g}, tx.init({"x": x}), {"x": x})
    lamb = lr + eps
    g64, x64 = np.asarray(g, np.float64), np.asarray(x, np.float64)
    z = x64 - lamb * g64 / (np.cbrt(lamb * g64**2) + eps)
    # z - x cancels most digits: float32 rounding of z (|z| ~ 1) leaves ~1e-7 absolute error.
    np.testing.assert_allclose(updates["x"], 0.1 * (z - x64), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match=r"^\w+ needs params"):
        tx.update({"x": g}, tx.init({"x": x}))


# --- ACProp ----------------------------------------------------------------------------------


def test_acprop_denominator_uses_only_past_gradients():
    tx = gdx.scale_by_acprop(eps=0.0, eps_root=0.0)
    state = tx.init({"w": jnp.zeros(2)})
    first, state = tx.update({"w": jnp.array([3.0, -4.0])}, state)
    np.testing.assert_allclose(first["w"], [3.0, -4.0])  # denominator 1 at the first step
    # Step 2: s_1 = (1 - b2) * g_1^2 (prediction error against m_0 = 0), bias-corrected by 1 - b2.
    second, _ = tx.update({"w": jnp.array([1.0, 1.0])}, state)
    np.testing.assert_allclose(second["w"], [1 / 3, 1 / 4], rtol=1e-5)


# --- normalize, split_real_and_imaginary ------------------------------------------------------


def test_normalize_gives_unit_global_norm():
    updates, _ = gdx.normalize().update(
        {"a": jnp.array([3.0]), "b": jnp.array([[4.0]])}, gdx.NormalizeState()
    )
    np.testing.assert_allclose(float(gdx.global_norm(updates)), 1.0, rtol=1e-6)


def test_split_real_and_imaginary_is_the_inner_optimizer_on_real_and_imaginary_parts():
    z = jax.lax.complex(jnp.array([1.0, -2.0]), jnp.array([0.5, 3.0]))
    g = jax.lax.complex(jnp.array([0.1, 2.0]), jnp.array([-1.0, 0.3]))
    tx = gdx.split_real_and_imaginary(gdx.adam(0.1))
    updates, _ = tx.update({"z": g}, tx.init({"z": z}), {"z": z})
    reference = gdx.adam(0.1)
    split = {"z": (jnp.real(g), jnp.imag(g))}
    expected, _ = reference.update(split, reference.init(split))
    np.testing.assert_array_equal(jnp.real(updates["z"]), expected["z"][0])
    np.testing.assert_array_equal(jnp.imag(updates["z"]), expected["z"][1])


# --- DP-SGD ------------------------------------------------------------------------------------


def test_dp_aggregate_without_noise_is_the_mean_of_clipped_grads_and_the_key_advances():
    grads = {"w": jnp.array([[3.0, 4.0], [0.3, 0.4]])}  # example norms 5 and 0.5
    tx = gdx.differentially_private_aggregate(l2_norm_clip=1.0, noise_multiplier=0.0, key=0)
    state = tx.init({"w": jnp.zeros(2)})
    updates, new_state = tx.update(grads, state)
    np.testing.assert_allclose(updates["w"], ([0.6, 0.8] + np.array([0.3, 0.4])) / 2, rtol=1e-6)
    assert not np.array_equal(jax.random.key_data(state.rng_key), jax.random.key_data(new_state.rng_key))
    with pytest.raises(ValueError, match="leading batch axis"):
        tx.update({"w": jnp.ones(2), "b": jnp.ones(3)}, state)


def test_dp_aggregate_noise_has_the_requested_scale():
    tx = gdx.differentially_private_aggregate(l2_norm_clip=2.0, noise_multiplier=1.5, key=1)
    updates, _ = tx.update({"w": jnp.zeros((1, 20000))}, tx.init({"w": jnp.zeros(20000)}))
    assert abs(float(jnp.std(updates["w"])) - 3.0) < 0.1  # batch of 1: std = l2_norm_clip * noise_multiplier


# --- GaLore ------------------------------------------------------------------------------------


def test_galore_keeps_low_rank_state_and_refreshes_the_projector_on_schedule():
    params = {"w": jnp.zeros((8, 5)), "v": jnp.zeros((3, 6)), "b": jnp.zeros(5)}
    tx = gdx.scale_by_galore(rank=2, update_proj_gap=3)
    state = tx.init(params)
    adam_state = state.base_optimizer_state
    assert adam_state.mu["w"].shape == (2, 5) and adam_state.mu["v"].shape == (3, 2)
    assert adam_state.mu["b"].shape == (5,) and state.projector["b"].shape == (0, 0)
    rng = np.random.default_rng(0)
    projectors = []
    step = jax.jit(tx.update)
    for _ in range(4):
        grads = jax.tree.map(lambda p: jnp.asarray(rng.standard_normal(p.shape), jnp.float32), params)
        updates, state = step(grads, state)
        projectors.append(state.projector["w"])
    p = projectors[0]
    np.testing.assert_allclose(p.T @ p, np.eye(2), atol=1e-5)  # orthonormal columns
    np.testing.assert_array_equal(projectors[1], p)  # kept between refreshes
    np.testing.assert_array_equal(projectors[2], p)
    assert not np.allclose(projectors[3], p)  # refreshed at step 4 (count 3)
    # The update of a projected leaf lies in the projector's column space.
    np.testing.assert_allclose(projectors[3] @ projectors[3].T @ updates["w"], updates["w"], atol=1e-5)


def test_galore_grads_of_the_wrong_shape_name_the_leaf():
    tx = gdx.galore(0.1, rank=2)
    params = {"w": jnp.zeros((4, 3)), "b": jnp.zeros(3)}
    with pytest.raises(ValueError, match=r"\['w'\]"):
        tx.update({"w": jnp.zeros((5, 3)), "b": jnp.zeros(3)}, tx.init(params), params)


# --- Sophia ----------------------------------------------------------------------------------


def test_hutchinson_is_exact_for_a_diagonal_hessian():
    # z * (H z) = diag(H) * z**2 = diag(H) for Rademacher z when H is diagonal.
    curvature = jnp.array([1.0, 10.0, 100.0])
    tx = gdx.hutchinson_estimator_diag_hessian(jax.random.PRNGKey(3))
    params = {"w": jnp.array([0.5, -1.0, 2.0])}
    estimate, state = tx.update(
        params, tx.init(params), params, obj_fn=lambda p: 0.5 * jnp.sum(curvature * p["w"] ** 2)
    )
    np.testing.assert_allclose(estimate["w"], curvature, rtol=1e-6)
    assert isinstance(state, gdx.HutchinsonState)
    with pytest.raises(ValueError, match="needs obj_fn"):
        tx.update(params, tx.init(params), params)


def test_sophia_needs_params_and_reduces_an_ill_conditioned_quadratic():
    curvature = {"w": jnp.array([1.0, 10.0, 100.0]), "b": jnp.array(3.0)}

    def loss(params):
        return sum(0.5 * jnp.sum(curvature[k] * params[k] ** 2) for k in params)

    tx = gdx.sophia(0.05, weight_decay=0.0)
    params = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array(0.3)}
    with pytest.raises(ValueError, match="sophia needs params"):
        tx.update(params, tx.init(params))

    @jax.jit
    def run(params):
        def body(carry, _):
            params, state = carry
            updates, state = tx.update(jax.grad(loss)(params), state, params, obj_fn=loss)
            return (gdx.apply_updates(params, updates), state), None

        return jax.lax.scan(body, (params, tx.init(params)), None, length=300)[0][0]

    assert float(loss(run(params))) < float(loss(params)) / 100
