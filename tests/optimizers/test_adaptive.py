"""Behaviour of the Adam and RMS families beyond optax parity.

Dtypes (`mu_dtype`, bfloat16 leaves, array hyperparameters), traced hyperparameters
under `jit`, extra arguments, and the state layout variants. Validation (bad hyperparameters,
non-float params, mismatched grads), saturated step counts and complex params are checked with
every other family's in tests/optimizers/test_generic.py.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.optimizers.checks import ADAPTIVE_HYPERPARAMETERS, grads_like, make, params_f32
from tests.parity.harness import optax_promotion

OPTIMIZERS = list(ADAPTIVE_HYPERPARAMETERS)


def params_mixed():
    return {"a": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "b": jnp.array([0.5, -2.0], jnp.bfloat16)}


# --- hyperparameter validation -----------------------------------------------------------


@pytest.mark.parametrize("name", ["scale_by_adam", "scale_by_amsgrad", "adam", "adamw", "amsgrad"])
def test_integer_mu_dtype_is_rejected(name):
    tx = getattr(gdx, name)
    args = () if name.startswith("scale_by") else (1e-2,)
    with pytest.raises(ValueError, match="mu_dtype"):
        tx(*args, mu_dtype=jnp.int32)


def test_momentum_none_and_nesterov_without_momentum_are_accepted():
    # As optax: nesterov only matters with momentum.
    state = gdx.rmsprop(1e-2, momentum=None, nesterov=True).init(params_f32())
    assert state[2] == gdx.EmptyState()


# --- params and grads -----------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_extra_args_are_accepted_and_ignored(name):
    tx = make(name)
    params = params_f32()
    state = tx.init(params)
    grads = grads_like(params)
    plain, _ = tx.update(grads, state, params)
    with_extra, _ = tx.update(grads, state, params, value=jnp.float32(1.0), grad=grads)
    jax.tree.map(np.testing.assert_array_equal, with_extra, plain)


# --- dtypes -------------------------------------------------------------------------------


def run_steps(tx, params, steps=3):
    """`steps` jitted updates; returns (last updates, state, state after init)."""
    state = tx.init(params)
    initial = state
    step = jax.jit(tx.update)
    for seed in range(steps):
        updates, state = step(grads_like(params, seed), state, params)
        params = gdx.apply_updates(params, updates)
    return updates, state, initial


def dtypes(tree):
    return jax.tree.map(lambda x: x.dtype, tree)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_dtypes_stay_fixed_on_mixed_precision_params(name):
    params = params_mixed()
    updates, state, initial = run_steps(make(name), params)
    assert dtypes(updates) == dtypes(params)
    assert dtypes(state) == dtypes(initial)


@pytest.mark.parametrize("name", ["adam", "nadam", "amsgrad", "adamw", "nadamw"])
def test_bfloat16_mu_dtype_is_kept_in_state_and_updates_keep_grads_dtype(name):
    params = params_f32()
    updates, state, _ = run_steps(make(name, mu_dtype=jnp.bfloat16), params)
    moments = state[0]
    assert {x.dtype for x in jax.tree.leaves(moments.mu)} == {jnp.dtype(jnp.bfloat16)}
    assert {x.dtype for x in jax.tree.leaves(moments.nu)} == {jnp.dtype(jnp.float32)}
    assert dtypes(updates) == dtypes(params)


@pytest.mark.parametrize("name", ["adam", "nadam", "amsgrad"])
def test_float32_mu_dtype_on_bfloat16_params(name):
    params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), params_f32())
    updates, state, _ = run_steps(make(name, mu_dtype=jnp.float32), params)
    assert {x.dtype for x in jax.tree.leaves(state[0].mu)} == {jnp.dtype(jnp.float32)}
    assert {x.dtype for x in jax.tree.leaves(state[0].nu)} == {jnp.dtype(jnp.bfloat16)}
    assert dtypes(updates) == dtypes(params)


def test_mu_dtype_is_canonicalized_as_in_optax():
    # float64 without x64 is stored as float32, as optax's canonicalize_dtype does.
    state = gdx.adam(1e-2, mu_dtype=jnp.float64).init(params_f32())
    with optax_promotion():
        reference = optax.adam(1e-2, mu_dtype=jnp.float64).init(params_f32())
    assert dtypes(state) == dtypes(reference)


# --- traced hyperparameters -----------------------------------------------------------------

TRACEABLE = {name: ["learning_rate", *args] for name, args in ADAPTIVE_HYPERPARAMETERS.items()}
VALUES = {
    "learning_rate": 1e-2,
    "b1": 0.8,
    "b2": 0.99,
    "decay": 0.9,
    "momentum": 0.5,
    "eps": 1e-3,
    "eps_root": 1e-6,
    "weight_decay": 1e-2,
    "initial_scale": 0.1,
    "initial_accumulator_value": 0.1,
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_learning_rate_can_be_traced(name):
    params = params_f32()
    grads = grads_like(params)

    def step(learning_rate):
        tx = make(name, learning_rate)
        return tx.update(grads, tx.init(params), params)[0]

    expected = step(1e-2)
    got = jax.jit(step)(1e-2)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), got, expected)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_hyperparameter_can_be_a_float32_array_under_jit(name):
    # Non-weak float32 arrays next to a bfloat16 leaf: no strict-promotion error, no dtype drift.
    params = params_mixed()
    grads = grads_like(params)
    hyper = {arg: jnp.asarray(VALUES[arg], jnp.float32) for arg in TRACEABLE[name]}

    def two_steps(hyper):
        tx = getattr(gdx, name)(**hyper)
        state = tx.init(params)
        initial_dtypes = dtypes(state)
        updates, state = tx.update(grads, state, params)
        updates, state = tx.update(grads, state, params)
        assert dtypes(state) == initial_dtypes
        return updates

    got = jax.jit(two_steps)(hyper)
    expected = two_steps({arg: VALUES[arg] for arg in TRACEABLE[name]})
    assert dtypes(got) == dtypes(params)
    np.testing.assert_allclose(got["a"], expected["a"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        np.asarray(got["b"], np.float32), np.asarray(expected["b"], np.float32), rtol=2e-2, atol=1e-3
    )


# --- state layout and semantics ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, first_state",
    [
        ({}, gdx.ScaleByRmsState),
        (dict(bias_correction=True), gdx.ScaleByRmsWithCountState),
        (dict(centered=True), gdx.ScaleByRStdDevState),
        (dict(centered=True, bias_correction=True), gdx.ScaleByRStdDevWithCountState),
    ],
)
def test_rmsprop_state_variants_match_optax(kwargs, first_state):
    params = params_f32()
    state = gdx.rmsprop(1e-2, momentum=0.9, **kwargs).init(params)
    reference: Any = optax.rmsprop(1e-2, momentum=0.9, **kwargs).init(params)
    assert isinstance(state[0], first_state)
    assert type(state[0]).__name__ == type(reference[0]).__name__
    assert state[0]._fields == reference[0]._fields
    assert jax.tree.structure(state).num_leaves == jax.tree.structure(reference).num_leaves


def test_nadam_is_adam_with_nesterov():
    params = params_f32()
    nadam_updates, _, _ = run_steps(gdx.nadam(1e-2), params)
    adam_updates, _, _ = run_steps(gdx.adam(1e-2, nesterov=True), params)
    jax.tree.map(np.testing.assert_array_equal, nadam_updates, adam_updates)


def test_adamax_state_is_adam_state():
    state = gdx.scale_by_adamax().init(params_f32())
    assert isinstance(state, gdx.ScaleByAdamState)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_minimizes_a_quadratic(name):
    target = {"a": jnp.full((2, 3), 0.5), "b": jnp.array([1.0, -1.0])}

    def loss(params):
        return sum(jnp.sum((p - t) ** 2) for p, t in zip(jax.tree.leaves(params), jax.tree.leaves(target)))

    tx = make(name, 5e-2)
    params = params_f32()
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        return gdx.apply_updates(params, updates), state

    initial_loss = loss(params)
    for _ in range(200):
        params, state = step(params, state)
    assert loss(params) < 0.05 * initial_loss
