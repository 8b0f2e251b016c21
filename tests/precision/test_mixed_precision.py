"""`master_weights`, `DynamicLossScale` + `skip_nonfinite`, and stochastic rounding."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from gdx import precision

BF16 = jnp.bfloat16


# --- master weights ------------------------------------------------------------------


def _run_sgd(tx, params, steps):
    """`steps` steps of constant gradient 1 (tiny lr): returns the param trajectory and final state."""

    def step(carry, _):
        params, state = carry
        grads = jax.tree.map(jnp.ones_like, params)
        updates, state = tx.update(grads, state, params)
        params = gdx.apply_updates(params, updates)
        return (params, state), params

    (_, state), path = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return path, state


def test_master_weights_tracks_the_float32_trajectory_where_plain_bfloat16_stalls():
    # lr 1e-4 on params near 1.0: each step is 1/78 of a bfloat16 ulp (2**-7).
    steps, lr = 1000, 1e-4
    start = {"x": jnp.ones([8], jnp.float32)}
    start_bf16 = jax.tree.map(lambda p: p.astype(BF16), start)
    float32_path, _ = jax.jit(_run_sgd, static_argnums=(0, 2))(gdx.sgd(lr), start, steps)
    plain_path, _ = jax.jit(_run_sgd, static_argnums=(0, 2))(gdx.sgd(lr), start_bf16, steps)
    master_path, state = jax.jit(_run_sgd, static_argnums=(0, 2))(
        precision.master_weights(gdx.sgd(lr)), start_bf16, steps
    )
    assert np.all(np.asarray(plain_path["x"], np.float32) == 1.0)  # round-to-nearest loses every step
    # The params are the float32 trajectory rounded once, at every step.
    np.testing.assert_array_equal(np.asarray(master_path["x"]), np.asarray(float32_path["x"].astype(BF16)))
    assert float(master_path["x"][-1, 0]) == pytest.approx(0.9, abs=2**-8)
    assert state.master["x"].dtype == jnp.float32
    np.testing.assert_array_equal(state.master["x"], float32_path["x"][-1])
    final = jax.tree.map(lambda p: p[-1], master_path)
    np.testing.assert_array_equal(precision.master_params(state, final)["x"], final["x"])


def test_master_weights_runs_the_inner_optimizer_in_float32_and_keeps_param_dtypes():
    params = {"w": jnp.ones([2, 3], BF16), "h": jnp.ones([3], jnp.float16)}
    tx = precision.master_weights(gdx.adam(1e-3))
    state = tx.init(params)
    assert state.master["w"].dtype == jnp.float32 and state.master["h"].dtype == jnp.float32
    assert state.inner_state[0].mu["h"].dtype == jnp.float32
    grads = {"w": jnp.ones([2, 3], BF16), "h": jnp.ones([3], jnp.float16)}
    updates, _ = jax.jit(tx.update)(grads, state, params)
    assert jax.tree.map(lambda u: u.dtype, updates) == jax.tree.map(lambda p: p.dtype, params)
    with pytest.raises(ValueError, match="params"):
        tx.update(grads, state)


# --- loss scaling --------------------------------------------------------------------


def test_dynamic_loss_scale_grows_after_period_finite_steps_and_halves_on_overflow():
    scale = precision.DynamicLossScale(4.0, period=3, min_loss_scale=2.0)
    adjust = jax.jit(lambda s, finite: s.adjust(finite))
    history = []
    for finite in [True, True, True, True, False, False, False, True]:
        scale = adjust(scale, finite)
        history.append((float(scale.loss_scale), int(scale.counter)))
    assert history == [(4, 1), (4, 2), (8, 0), (8, 1), (4, 0), (2, 0), (2, 0), (2, 1)]
    assert jax.tree.leaves(scale)[0].dtype == jnp.float32  # a pytree of its two arrays
    assert len(jax.tree.leaves(scale)) == 2


def test_loss_scale_rejects_bad_settings_naming_them():
    for kwargs, name in [
        ({"period": 0}, "period"),
        ({"factor": 1.0}, "factor"),
        ({"min_loss_scale": -1.0}, "min"),
    ]:
        with pytest.raises((ValueError, TypeError), match=name):
            precision.DynamicLossScale(2.0**15, **kwargs)


def test_injected_overflow_is_skipped_the_scale_halves_and_training_proceeds():
    params = {"w": jnp.full([4], 2.0, jnp.float16)}
    tx = precision.skip_nonfinite(gdx.adam(1e-2))

    def loss_fn(p, data_scale):
        return jnp.sum(p["w"].astype(jnp.float32) ** 2) * data_scale

    @jax.jit
    def step(params, opt_state, loss_scale, data_scale):
        grads = jax.grad(lambda p: loss_scale.scale(loss_fn(p, data_scale).astype(jnp.float16)))(params)
        grads = loss_scale.unscale(grads)
        finite = precision.all_finite(grads)
        updates, opt_state = tx.update(grads, opt_state, params)
        return gdx.apply_updates(params, updates), opt_state, loss_scale.adjust(finite), finite

    loss_scale = precision.DynamicLossScale(2.0**10, period=100)
    opt_state = tx.init(params)
    params, opt_state, loss_scale, finite = step(params, opt_state, loss_scale, 1.0)
    assert bool(finite) and float(loss_scale.loss_scale) == 2.0**10
    before = (params, opt_state)
    # 4 * 2**10 * 100 = 409600 overflows float16 (max 65504): inf gradients.
    params, opt_state, loss_scale, finite = step(params, opt_state, loss_scale, 100.0)
    assert not bool(finite) and float(loss_scale.loss_scale) == 2.0**9
    jax.tree.map(np.testing.assert_array_equal, params, before[0])
    jax.tree.map(np.testing.assert_array_equal, opt_state.inner_state, before[1].inner_state)
    for _ in range(3):
        params, opt_state, loss_scale, finite = step(params, opt_state, loss_scale, 1.0)
        assert bool(finite)
    assert float(params["w"][0]) < float(before[0]["w"][0])  # descending again


def test_all_finite():
    assert bool(precision.all_finite({"a": jnp.ones(3), "b": ()}))
    assert not bool(precision.all_finite({"a": jnp.array([1.0, jnp.nan])}))
    assert not bool(precision.all_finite([jnp.ones(2), jnp.array(-jnp.inf)]))


# --- stochastic rounding --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [BF16, jnp.float16])
def test_stochastic_rounding_is_unbiased_where_round_to_nearest_stalls(dtype):
    # 1000 steps of +1e-4 on 4096 params at 1.0: the exact sum is 1.1.
    steps, n = 1000, 4096
    params = {"x": jnp.ones([n], dtype)}
    updates = {"x": jnp.full([n], 1e-4, jnp.float32)}

    @jax.jit
    def run(params, key):
        def step(params, key):
            return precision.apply_updates_stochastic(params, updates, key), None

        return jax.lax.scan(step, params, jax.random.split(key, steps))[0]

    nearest = params
    for _ in range(3):
        nearest = gdx.apply_updates(nearest, updates)
    if dtype == BF16:
        assert np.all(np.asarray(nearest["x"], np.float32) == 1.0)  # biased: stays at 1.0
    final = np.asarray(run(params, jax.random.key(0))["x"], np.float64)
    # Each element is a sum of 1000 independent roundings, each with std <= ulp/2 (bf16 ulp
    # at 1 is 2**-7): std of an element <= sqrt(1000) * 2**-8 ~ 0.12, of the mean over 4096
    # elements <= 0.002. The bound 0.01 is 5 such standard deviations.
    assert abs(final.mean() - 1.1) < 0.01
    assert final.std() > 0  # it is random


def test_stochastic_round_keeps_exact_values_and_non_finite_ones():
    x = jnp.array([1.0, -2.5, 0.0, 3.0e38, jnp.inf, -jnp.inf, 1.0 + 2**-7], jnp.float32)
    for dtype in (BF16, jnp.float16):
        out = precision.stochastic_round(x, dtype, jax.random.key(3))
        assert out.dtype == dtype
        expected = np.asarray(x.astype(dtype), np.float32)
        exact = np.isin(np.arange(7), [0, 1, 2, 4, 5])
        np.testing.assert_array_equal(np.asarray(out, np.float32)[exact], expected[exact])
    assert (
        precision.stochastic_round({"i": jnp.arange(3)}, jnp.int32, jax.random.key(0))["i"].dtype == jnp.int32
    )
