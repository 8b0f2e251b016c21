import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from gdx import diagnostics

PARAMS = {
    "dense": {
        "w": jnp.array([[1.0, -2.0], [0.5, 3.0]], jnp.float32),
        "b": jnp.array([0.1, 0.2], jnp.float32),
    },
    "head": jnp.array([2.0, -1.0, 0.0], jnp.float32),
}
GRADS = {
    "dense": {
        "w": jnp.array([[0.3, -0.1], [0.2, 0.4]], jnp.float32),
        "b": jnp.array([-0.5, 0.0], jnp.float32),
    },
    "head": jnp.array([1.0, -2.0, 0.25], jnp.float32),
}


def flat(tree):
    return np.concatenate([np.ravel(np.asarray(leaf, np.float64)) for leaf in jax.tree.leaves(tree)])


def expected(grads, updates, params):
    g, u, p = flat(grads), flat(updates), flat(params)
    return {
        "grad_norm": np.linalg.norm(g),
        "update_norm": np.linalg.norm(u),
        "param_norm": np.linalg.norm(p),
        "update_param_ratio": np.linalg.norm(u) / np.linalg.norm(p),
        "nonfinite_grads": float(np.sum(~np.isfinite(g))),
        "grad_min": g.min(),
        "grad_max": g.max(),
        "grad_mean": g.mean(),
        "grad_std": g.std(),
    }


def test_metrics_equal_hand_computed_values_per_module_too():
    tx = diagnostics.monitor(gdx.sgd(0.1), per_module=True)
    state = tx.init(PARAMS)
    assert all(np.isnan(value) for value in diagnostics.metrics(state).values())
    updates, state = jax.jit(tx.update)(GRADS, state, PARAMS)
    got = diagnostics.metrics(state)
    for name, value in expected(GRADS, updates, PARAMS).items():
        assert got[name] == pytest.approx(value, rel=1e-6, abs=1e-7), name
    for key in ("dense", "head"):
        for name, value in expected(GRADS[key], updates[key], PARAMS[key]).items():
            assert got[f"{name}/{key}"] == pytest.approx(value, rel=1e-6, abs=1e-7), (name, key)
    assert np.isnan(got["learning_rate"])  # plain sgd keeps no learning rate in its state
    assert all(type(value) is float for value in got.values())
    np.testing.assert_allclose(flat(updates), -0.1 * flat(GRADS), rtol=1e-6)


def test_learning_rate_from_inject_hyperparams_in_a_chain_and_nonfinite_count():
    schedule = optax.linear_schedule(0.1, 0.0, 10)
    tx = diagnostics.monitor(
        gdx.chain(gdx.clip_by_global_norm(1.0), gdx.inject_hyperparams(gdx.adamw)(schedule))
    )
    state = tx.init(PARAMS)
    bad = jax.tree.map(lambda g: g, GRADS)
    bad["head"] = jnp.array([jnp.nan, jnp.inf, 1.0], jnp.float32)
    step = jax.jit(tx.update)
    _, state = step(GRADS, state, PARAMS)
    assert diagnostics.metrics(state)["learning_rate"] == pytest.approx(0.1)
    _, state = step(bad, state, PARAMS)
    got = diagnostics.metrics(state)
    assert got["learning_rate"] == pytest.approx(0.09)
    assert got["nonfinite_grads"] == 2.0


def test_no_recompilation_and_no_params_gives_nan_param_norm():
    tx = diagnostics.monitor(gdx.adamw(1e-2))

    traces = []

    @jax.jit
    def step(params, state):
        traces.append(1)  # runs once per compilation
        updates, state = tx.update(GRADS, state, params)
        return gdx.apply_updates(params, updates), state

    params, state = PARAMS, tx.init(PARAMS)
    for _ in range(4):
        params, state = step(params, state)
    assert len(traces) == 1
    assert diagnostics.metrics(state)["param_norm"] == pytest.approx(np.linalg.norm(flat(params)), rel=0.05)
    plain = diagnostics.monitor(gdx.sgd(0.1))
    _, state = jax.jit(plain.update)(GRADS, plain.init(PARAMS))
    got = diagnostics.metrics(state)
    assert np.isnan(got["param_norm"]) and np.isnan(got["update_param_ratio"])
    assert got["grad_norm"] == pytest.approx(np.linalg.norm(flat(GRADS)), rel=1e-6)


def test_state_is_a_pytree_of_float32_scalars_and_metrics_finds_it_nested():
    tx = gdx.chain(gdx.scale(1.0), diagnostics.monitor(gdx.sgd(0.5)))
    state = tx.init(PARAMS)
    monitor_state = state[1]
    assert isinstance(monitor_state, diagnostics.MonitorState)
    assert all(v.dtype == jnp.float32 and v.shape == () for v in monitor_state.metrics.values())
    _, state = jax.jit(tx.update)(GRADS, state, PARAMS)
    assert diagnostics.metrics(state)["update_norm"] == pytest.approx(
        0.5 * np.linalg.norm(flat(GRADS)), rel=1e-6
    )
    with pytest.raises(ValueError, match="found 0"):
        diagnostics.metrics(gdx.sgd(0.1).init(PARAMS))
    with pytest.raises(ValueError, match="per_module"):
        diagnostics.monitor(gdx.sgd(0.1), per_module=True).init([jnp.zeros(2)])


def test_debug_nonfinite_names_the_bad_leaf_and_works_with_apply_if_finite():
    messages = []
    tx = diagnostics.monitor(
        gdx.apply_if_finite(gdx.sgd(0.1), 3), debug_nonfinite=True, printer=messages.append
    )
    bad = {"dense": GRADS["dense"], "head": jnp.array([jnp.nan, 1.0, 1.0], jnp.float32)}
    step = jax.jit(tx.update)
    state = tx.init(PARAMS)
    updates, state = step(GRADS, state, PARAMS)
    jax.effects_barrier()
    assert messages == []
    updates, state = step(bad, state, PARAMS)
    jax.effects_barrier()
    assert messages == ["gdx.diagnostics.monitor: non-finite gradient entries in ['head'] (1)"]
    got = diagnostics.metrics(state)
    assert got["nonfinite_grads"] == 1.0 and got["update_norm"] == 0.0  # apply_if_finite skipped the step


def test_wraps_an_optax_transformation_and_reads_its_injected_learning_rate():
    tx = diagnostics.monitor(optax.inject_hyperparams(optax.sgd)(learning_rate=0.25))
    updates, state = jax.jit(tx.update)(GRADS, tx.init(PARAMS), PARAMS)
    np.testing.assert_allclose(flat(updates), -0.25 * flat(GRADS), rtol=1e-6)
    got = diagnostics.metrics(state)
    assert got["learning_rate"] == 0.25
    assert got["update_norm"] == pytest.approx(0.25 * np.linalg.norm(flat(GRADS)), rel=1e-6)
