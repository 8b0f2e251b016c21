"""Muon, Schedule-Free, ADOPT, AdEMAMix and SAM: behaviour beyond optax parity, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: gdx.muon(0.01, ns_steps=0), "ns_steps"),
        (lambda: gdx.muon(0.01, beta=1.0), "beta"),
        (lambda: gdx.muon(0.01, preconditioning="newton"), "preconditioning"),  # type: ignore[arg-type]
        (lambda: gdx.muon(0.01, ns_coeffs="bogus"), "ns_coeffs"),
        (lambda: gdx.muon(0.01, adam_b1=1.0), "adam_b1"),
        (lambda: gdx.muon(0.01, adam_learning_rate=-1.0), "adam_learning_rate"),
        (lambda: gdx.muon(0.01, consistent_rms=-0.2), "consistent_rms"),
        (lambda: gdx.muon(0.01, weight_decay=-0.1), "weight_decay"),
        (lambda: gdx.scale_by_muon(ns_steps=2.5), "ns_steps"),  # type: ignore[arg-type]
        (lambda: gdx.schedule_free(gdx.sgd(0.1), 0.1, b1=0.0), "b1"),
        (lambda: gdx.schedule_free_sgd(b1=1.5), "b1"),
        (lambda: gdx.schedule_free_sgd(warmup_steps=-1), "warmup_steps"),
        (lambda: gdx.schedule_free_sgd(weight_decay=-1.0), "weight_decay"),
        (lambda: gdx.schedule_free_adamw(weight_lr_power=-1.0), "weight_lr_power"),
        (lambda: gdx.schedule_free_adamw(b2=1.0), "b2"),
        (lambda: gdx.adopt(0.01, b2=1.0), "b2"),
        (lambda: gdx.ademamix(0.01, b3=1.0), "b3"),
        (lambda: gdx.ademamix(0.01, alpha=float("inf")), "alpha"),
        (lambda: gdx.simplified_ademamix(0.01, b1=-0.1), "b1"),
        (lambda: gdx.sam(gdx.sgd(0.1), gdx.sgd(0.1), sync_period=0), "sync_period"),
    ],
)
def test_bad_hyperparameters_raise_naming_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_bad_shapes_and_types_fail_clearly():
    with pytest.raises(TypeError, match="clip_value_fn"):
        gdx.adopt(0.01, clip_value_fn=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ns_coeffs"):
        gdx.scale_by_muon(ns_coeffs=(1.0, 2.0)).init({"w": jnp.ones((2, 2))})
    with pytest.raises(ValueError, match="rank >= 2"):
        tx = gdx.muon(0.01, muon_weight_dimension_numbers={"w": gdx.MuonDimensionNumbers()})
        params = {"w": jnp.ones(3)}
        tx.update(params, tx.init(params), params)
    with pytest.raises(ValueError, match="disjoint"):
        tx = gdx.scale_by_muon(weight_dimension_numbers={"w": gdx.MuonDimensionNumbers(0, 0)})
        params = {"w": jnp.ones((2, 3, 4))}
        tx.update(params, tx.init(params))


def test_scale_by_muon_orthogonalizes_with_default_dimension_numbers():
    # gdx only: `weight_dimension_numbers=None` means "every leaf is a matrix" (optax raises).
    tx = gdx.scale_by_muon(beta=0.0, nesterov=False)
    grads = {
        "w": jax.random.normal(jax.random.key(0), (8, 4)),
        "v": jax.random.normal(jax.random.key(1), (3, 6)),
    }
    updates, state = jax.jit(tx.update)(grads, tx.init(grads))
    for leaf in jax.tree.leaves(updates):
        singular_values = np.linalg.svd(np.asarray(leaf), compute_uv=False)
        # The tuned quintic lands singular values roughly in (0.5, 1.5), not exactly at 1 (Jordan 2024).
        assert singular_values.min() > 0.5 and singular_values.max() < 1.5, singular_values
    assert state.count.dtype == jnp.int32


def test_muon_stacked_layers_equal_separate_matrices():
    stacked = jax.random.normal(jax.random.key(2), (3, 5, 4))
    numbers = {"w": gdx.MuonDimensionNumbers(reduction_axis=1, output_axis=2)}
    tx = gdx.scale_by_muon(weight_dimension_numbers=numbers)
    got, _ = jax.jit(tx.update)({"w": stacked}, tx.init({"w": stacked}))
    single = gdx.scale_by_muon()
    one_matrix = jax.jit(lambda w: single.update({"w": w}, single.init({"w": w}))[0]["w"])
    for i in range(3):
        np.testing.assert_allclose(got["w"][i], one_matrix(stacked[i]), rtol=1e-5, atol=1e-6)


def test_schedule_free_eval_params_finds_a_nested_state_and_rejects_others():
    tx = gdx.chain(gdx.clip_by_global_norm(1.0), gdx.schedule_free_sgd(0.1, b1=0.5))
    params = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(params)
    updates, state = tx.update({"w": jnp.array([0.5, 0.5])}, state, params)
    params = gdx.apply_updates(params, updates)
    schedule_free_state = state[1]
    want = optax.contrib.schedule_free_eval_params(schedule_free_state, params)
    np.testing.assert_allclose(gdx.schedule_free_eval_params(state, params)["w"], want["w"])
    with pytest.raises(ValueError, match="ScheduleFreeState"):
        gdx.schedule_free_eval_params(gdx.adam(0.1).init(params), params)


def test_schedule_free_with_b1_one_evaluates_at_the_trained_params():
    tx = gdx.schedule_free_adamw(0.1, b1=1.0)
    params = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(params)
    for _ in range(3):
        updates, state = tx.update(params, state, params)
        params = gdx.apply_updates(params, updates)
    np.testing.assert_allclose(gdx.schedule_free_eval_params(state, params)["w"], params["w"], rtol=1e-6)


def test_schedule_free_sgd_eval_params_converge_on_a_quadratic():
    tx = gdx.schedule_free_sgd(0.5, warmup_steps=5)
    params = {"w": jnp.array([3.0, -1.0])}
    state = tx.init(params)
    step = jax.jit(lambda p, s: tx.update(p, s, p))  # grad of 0.5 * |w|^2 is w
    for _ in range(200):
        updates, state = step(params, state)
        params = gdx.apply_updates(params, updates)
    assert float(jnp.max(jnp.abs(gdx.schedule_free_eval_params(state, params)["w"]))) < 1e-2


def test_adopt_first_step_only_initializes_the_second_moment():
    tx = gdx.adopt(0.1)
    params = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(params)
    updates, state = tx.update(params, state, params)
    np.testing.assert_array_equal(updates["w"], np.zeros(2))
    np.testing.assert_allclose(state[0].nu["w"], np.array([1.0, 4.0]))
    updates, _ = tx.update(params, state, params)
    assert float(jnp.max(jnp.abs(updates["w"]))) > 0


def test_ademamix_schedules_keep_the_state_dtype():
    # optax turns a bfloat16 leaf's slow EMA into float32 under a float32 b3 schedule.
    warmup = lambda count: jnp.minimum(count.astype(jnp.float32) / 10, 1.0)  # noqa: E731
    tx = gdx.ademamix(
        0.01, b3=lambda count: 0.9 + 0.09 * warmup(count), alpha=lambda count: 5.0 * warmup(count)
    )
    params = {"w": jnp.ones(3, jnp.bfloat16)}
    state = tx.init(params)
    updates, new_state = tx.update(params, state, params)
    assert updates["w"].dtype == jnp.bfloat16
    for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        assert before.dtype == after.dtype


def _sam():
    return gdx.sam(gdx.sgd(0.1), gdx.chain(gdx.normalize(), gdx.sgd(0.05)), sync_period=2)


def test_sam_outer_step_is_finite_on_a_zero_gradient():
    # A zero gradient makes optax's (unused) adversarial direction 0/0, and its
    # `c * a + (1 - c) * b` lets that NaN into the outer update. gdx blends the same way
    # (for optax's bits), but gdx's `normalize` maps an all-zero gradient to zero.
    tx = _sam()
    params = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(params)
    updates, state = tx.update({"w": jnp.array([1.0, 1.0])}, state, params)
    params = gdx.apply_updates(params, updates)
    updates, state = tx.update({"w": jnp.zeros(2)}, state, params)
    assert bool(jnp.all(jnp.isfinite(updates["w"])))
    np.testing.assert_allclose(gdx.apply_updates(params, updates)["w"], [1.0, -2.0], rtol=1e-6)


def test_sam_needs_params_and_opaque_mode_needs_grad_fn():
    params = {"w": jnp.ones(2)}
    tx = _sam()
    with pytest.raises(ValueError, match="sam needs params"):
        tx.update(params, tx.init(params))
    opaque = gdx.sam(gdx.sgd(0.1), gdx.sgd(0.05), opaque_mode=True)
    with pytest.raises(ValueError, match="grad_fn"):
        opaque.update(params, opaque.init(params), params)


def test_sam_descends_with_the_gradient_at_the_adversarial_point():
    # One SAM step on f(w) = sum(w**4) / 4 in opaque mode equals the textbook formula.
    grad_fn = jax.grad(lambda p, i: jnp.sum(p["w"] ** 4) / 4)
    tx = gdx.sam(gdx.sgd(0.1), gdx.chain(gdx.normalize(), gdx.sgd(0.05)), opaque_mode=True)
    params = {"w": jnp.array([1.0, -0.5])}
    updates, _ = tx.update(grad_fn(params, 0), tx.init(params), params, grad_fn=grad_fn)
    g = params["w"] ** 3
    adversarial = params["w"] + 0.05 * g / jnp.linalg.norm(g)
    np.testing.assert_allclose(updates["w"], -0.1 * adversarial**3, rtol=1e-6)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: gdx.muon(0.01), lambda: optax.contrib.muon(0.01)),
        (lambda: gdx.schedule_free_adamw(0.01), lambda: optax.contrib.schedule_free_adamw(0.01)),
        (
            lambda: gdx.sam(gdx.sgd(0.1), gdx.sgd(0.05), sync_period=3),
            lambda: optax.contrib.sam(optax.sgd(0.1), optax.sgd(0.05), sync_period=3),
        ),
    ],
    ids=["muon", "schedule_free_adamw", "sam"],
)
def test_an_optax_state_converts_to_gdx_and_back(ours, theirs):
    params = {"w": jnp.ones((3, 2)), "b": jnp.ones(2)}
    with jax.numpy_dtype_promotion("standard"):
        optax_tx = theirs()
        optax_state = optax_tx.init(params)
        _, optax_state = optax_tx.update(params, optax_state, params)
    state = gdx.from_optax_state(optax_state, reference=ours(), params=params)
    assert jax.tree.structure(state) == jax.tree.structure(ours().init(params))
    back = gdx.to_optax_state(state, optax_tx, params=params)
    assert jax.tree.structure(back) == jax.tree.structure(optax_state)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(optax_state)):
        np.testing.assert_array_equal(a, b)
