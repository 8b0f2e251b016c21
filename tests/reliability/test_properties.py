"""Property tests (hypothesis) over every contract optimizer, a fixed pool of tree layouts,
random values, gradient scales and learning rates.

Laws: finite inputs give finite updates and state; updates keep the grads' dtypes
and the state keeps its dtypes; `init` is pure (same result twice, params not
modified); `update` is deterministic (twice from the same state, the same result).

Every new shape recompiles, so layouts come from a fixed pool and the learning
rate is a traced argument: one compilation per (optimizer, layout), cached.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_contract import PLAIN_CASES as CASES

LAYOUTS = [
    {"w": ((3,), jnp.float32), "b": ((), jnp.float32)},
    {"kernel": ((2, 3), jnp.float32), "emb": ((4,), jnp.bfloat16)},
    {"layers": [((2, 2), jnp.float32), ((3,), jnp.bfloat16)], "scale": ((1,), jnp.float32)},
]
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True)


def _random_tree(layout, seed: int, scale: float):
    rng = np.random.default_rng(seed)
    is_spec = lambda x: isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], tuple)
    return jax.tree.map(
        lambda spec: jnp.asarray(scale * rng.standard_normal(spec[0]), spec[1]), layout, is_leaf=is_spec
    )


@functools.cache
def _jitted_update(case_index: int):
    """The update of CASES[case_index] with a traced learning rate, jitted once per optimizer."""
    case = CASES[case_index]

    @jax.jit
    def update(learning_rate, grads, state, params):
        return case.make(learning_rate).update(grads, state, params)

    return update


@functools.cache
def _tx(case_index: int):
    return CASES[case_index].make(0.01)  # init does not depend on the learning rate


cases = st.integers(0, len(CASES) - 1)
layouts = st.integers(0, len(LAYOUTS) - 1)
seeds = st.integers(0, 2**16)
grad_scales = st.sampled_from([0.0, 1e-4, 1.0, 1e2])
learning_rates = st.sampled_from([1e-4, 1e-2, 0.3])


@SETTINGS
@given(case_index=cases, layout=layouts, seed=seeds, grad_scale=grad_scales, learning_rate=learning_rates)
def test_updates_finite_dtypes_preserved_and_deterministic(
    case_index, layout, seed, grad_scale, learning_rate
):
    name = CASES[case_index].name
    params = _random_tree(LAYOUTS[layout], seed, 1.0)
    grads = _random_tree(LAYOUTS[layout], seed + 1, grad_scale)
    tx, update = _tx(case_index), _jitted_update(case_index)
    state = tx.init(params)
    lr = jnp.float32(learning_rate)

    updates, new_state = update(lr, grads, state, params)
    again_updates, again_state = update(lr, grads, state, params)
    for a, b in zip(jax.tree.leaves((updates, new_state)), jax.tree.leaves((again_updates, again_state))):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: update is not deterministic")

    for grad, u in zip(jax.tree.leaves(grads), jax.tree.leaves(updates)):
        assert u.dtype == grad.dtype and u.shape == grad.shape, name
        assert bool(jnp.all(jnp.isfinite(u))), f"{name}: non-finite update from finite input"
    for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        assert before.dtype == after.dtype and before.shape == after.shape, name
        if jnp.issubdtype(after.dtype, jnp.inexact):
            assert bool(jnp.all(jnp.isfinite(after))), f"{name}: non-finite state from finite input"


@SETTINGS
@given(case_index=cases, layout=layouts, seed=seeds)
def test_init_is_pure(case_index, layout, seed):
    params = _random_tree(LAYOUTS[layout], seed, 1.0)
    copy = jax.tree.map(np.array, params)
    tx = _tx(case_index)
    first, second = tx.init(params), tx.init(params)
    assert jax.tree.structure(first) == jax.tree.structure(second)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second)):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(a, b)
    for original, now in zip(jax.tree.leaves(copy), jax.tree.leaves(params)):
        np.testing.assert_array_equal(original, now)


def _noise(tx, params):
    updates, state = tx.update(jax.tree.map(jnp.zeros_like, params), tx.init(params), params)
    return np.asarray(updates["w"]), np.asarray(jax.random.key_data(state[0].rng_key))


def test_noisy_sgd_is_deterministic_given_an_explicit_key():
    import gdx

    params = {"w": jnp.zeros(4, jnp.float32)}
    first = _noise(gdx.noisy_sgd(0.1, key=jax.random.key(5)), params)
    np.testing.assert_array_equal(first[0], _noise(gdx.noisy_sgd(0.1, key=jax.random.key(5)), params)[0])
    np.testing.assert_array_equal(first[0], _noise(gdx.noisy_sgd(0.1, key=5), params)[0])  # int seed
    np.testing.assert_array_equal(
        _noise(gdx.noisy_sgd(0.1), params)[0], _noise(gdx.noisy_sgd(0.1, key=0), params)[0]
    )  # None means seed 0, as optax
    assert not np.array_equal(first[0], _noise(gdx.noisy_sgd(0.1, key=6), params)[0])
    assert np.all(first[0] != 0)  # the key advances in the state: no two steps reuse noise


ADAM_LIKE = ["adam", "adamw", "nadam", "amsgrad", "adabelief", "yogi", "radam", "lamb"]


@functools.cache
def _jitted_adam_like(name: str):
    import gdx

    @jax.jit
    def update(b1, b2, eps, grads, params):
        tx = getattr(gdx, name)(1e-2, b1=b1, b2=b2, eps=eps)
        return tx.update(grads, tx.init(params), params)

    return update


@SETTINGS
@given(
    name=st.sampled_from(ADAM_LIKE),
    layout=layouts,
    seed=seeds,
    b1=st.floats(0.0, 0.99),
    b2=st.floats(0.5, 0.9999),
    eps=st.sampled_from([1e-8, 1e-4, 1e-1]),
)
def test_random_hyperparameters_in_range_give_finite_updates(name, layout, seed, b1, b2, eps):
    params = _random_tree(LAYOUTS[layout], seed, 1.0)
    grads = _random_tree(LAYOUTS[layout], seed + 1, 1.0)
    hyper = [jnp.float32(v) for v in (b1, b2, eps)]
    updates, state = _jitted_adam_like(name)(*hyper, grads, params)
    for grad, u in zip(jax.tree.leaves(grads), jax.tree.leaves(updates)):
        assert u.dtype == grad.dtype and bool(jnp.all(jnp.isfinite(u))), (name, b1, b2, eps)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(state) if x.dtype != jnp.int32)
