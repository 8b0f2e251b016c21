"""NaN/Inf gradients: `apply_if_finite` keeps them out of the state; without it, what each optimizer does.

With `apply_if_finite(tx, max_consecutive_errors)` a step whose gradients
contain a NaN/inf is skipped: zero updates, the inner state untouched, so the
run ends exactly where the run that never saw that step ends.

Without the wrapper (the behaviour docs/guides/checkpoints.md documents, asserted here so the
documentation stays true), for a NaN in one coordinate of the gradient:

- `sgd`, `sign_sgd`, `fromage`, `noisy_sgd` keep no per-coordinate state: that
  step's update is NaN, the state stays finite and the next finite step is finite.
- `adagrad`: the accumulator becomes NaN and that coordinate stops moving for
  good (its update is 0 from then on: `where(sum > 0, rsqrt(sum + eps), 0)`, as optax).
- every other optimizer: the NaN enters the state (moments, traces, step sizes,
  L-BFGS memory) and every later update of that leaf is non-finite.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.test_contract import PLAIN_CASES as CASES
from tests.test_contract import PLAIN_IDS as IDS
from tests.test_contract import quadratic_loss, quadratic_params

NO_POISON = {"sgd", "sign_sgd", "fromage", "noisy_sgd"}
STALLS = {"adagrad"}
BAD_STEP = 2


def _finite(tree) -> bool:
    return all(
        bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)
    )


def _spoil(grads, value):
    return {**grads, "w": grads["w"].at[1].set(value)}


def _extra(params, grads):
    return {"value": quadratic_loss(params), "grad": grads, "value_fn": quadratic_loss}


def _step(tx, carry, spoil):
    params, state = carry
    grads = jax.grad(quadratic_loss)(params)
    grads = jax.lax.cond(spoil, lambda g: _spoil(g, jnp.nan), lambda g: g, grads)
    updates, state = tx.update(grads, state, params, **_extra(params, grads))
    return (gdx.apply_updates(params, updates), state), None


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_apply_if_finite_skips_the_nan_step_exactly(case):
    guarded = gdx.apply_if_finite(case.make(0.01), max_consecutive_errors=3)
    plain = case.make(0.01)
    spoiled = jnp.array([False, False, True, False, False])  # a NaN at step 2 of 5

    @jax.jit  # both runs in one program: one compilation per case
    def both(params):
        guarded_run, _ = jax.lax.scan(
            lambda c, s: _step(guarded, c, s), (params, guarded.init(params)), spoiled
        )
        clean_run, _ = jax.lax.scan(  # the same run with the bad step left out
            lambda c, s: _step(plain, c, s), (params, plain.init(params)), jnp.zeros(4, bool)
        )
        return guarded_run, clean_run

    (params, state), (clean_params, clean_inner) = both(quadratic_params())
    assert _finite(state.inner_state) and _finite(params)
    assert int(state.total_notfinite) == 1 and int(state.notfinite_count) == 0
    got_leaves = jax.tree.leaves((params, state.inner_state))
    for got, want in zip(got_leaves, jax.tree.leaves((clean_params, clean_inner))):
        if jnp.issubdtype(got.dtype, jax.dtypes.prng_key):
            got, want = jax.random.key_data(got), jax.random.key_data(want)
        # Not bit-equal: the two runs are different XLA programs (a denormal flushed in one, say).
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-7)


def test_apply_if_finite_inner_state_is_bit_identical_after_a_nan_step():
    tx = gdx.apply_if_finite(gdx.adam(0.01), max_consecutive_errors=2)
    params = quadratic_params()
    state = tx.init(params)
    grads = jax.grad(quadratic_loss)(params)
    _, state = tx.update(grads, state, params)
    for bad in (jnp.nan, jnp.inf, -jnp.inf):
        updates, new_state = jax.jit(tx.update)(_spoil(grads, bad), state, params)
        assert all(bool(jnp.all(u == 0)) for u in jax.tree.leaves(updates))
        for before, after in zip(jax.tree.leaves(state.inner_state), jax.tree.leaves(new_state.inner_state)):
            np.testing.assert_array_equal(before, after)
        assert not bool(new_state.last_finite)


def test_apply_if_finite_gives_up_after_max_consecutive_errors_as_documented():
    tx = gdx.apply_if_finite(gdx.adam(0.01), max_consecutive_errors=2)
    params = quadratic_params()
    state = tx.init(params)
    bad = _spoil(jax.grad(quadratic_loss)(params), jnp.nan)
    for _ in range(2):
        _, state = tx.update(bad, state, params)
        assert _finite(state.inner_state)
    _, state = tx.update(bad, state, params)  # the third consecutive one reaches adam, as in optax
    assert not _finite(state.inner_state)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_without_the_wrapper_a_nan_behaves_as_documented(case):
    tx = case.make(0.01)
    params = quadratic_params()
    state = tx.init(params)
    grads = jax.grad(quadratic_loss)(params)
    updates, state = tx.update(grads, state, params, **_extra(params, grads))
    params = gdx.apply_updates(params, updates)

    bad = _spoil(jax.grad(quadratic_loss)(params), jnp.nan)
    _, state = tx.update(bad, state, params, **_extra(params, bad))
    grads = jax.grad(quadratic_loss)(params)
    next_updates, _ = tx.update(grads, state, params, **_extra(params, grads))

    if case.name in NO_POISON:
        assert _finite(state) and _finite(next_updates), "stateless: recovers on the next finite step"
    elif case.name in STALLS:
        assert not _finite(state)
        assert float(next_updates["w"][1]) == 0.0 and _finite(next_updates)
    else:
        assert not _finite(state), "the NaN reaches the state"
        assert not _finite(next_updates), "and stays there"


@pytest.mark.parametrize("name", ["lion", "signum", "sign_sgd", "rprop"])
def test_sign_based_rules_turn_an_inf_gradient_into_a_finite_step(name):
    tx = next(case for case in CASES if case.name == name).make(0.01)
    params = quadratic_params()
    state = tx.init(params)
    grads = jax.grad(quadratic_loss)(params)
    _, state = tx.update(grads, state, params)
    updates, state = tx.update(_spoil(grads, jnp.inf), state, params)
    next_updates, _ = tx.update(grads, state, params)
    assert _finite(updates) and _finite(next_updates)
