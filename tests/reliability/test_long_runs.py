"""Long runs: int32 step counters saturate at 2**31 - 1 and the updates stay finite there.

Every int32 scalar in the state of every contract optimizer (its step counters)
is set to `2**31 - 2`, then three jitted steps run: the counters must stop at
`2**31 - 1` (never wrap to a negative count, which would flip bias corrections
and schedules) and the updates and state must stay finite.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.test_contract import PLAIN_CASES as CASES
from tests.test_contract import quadratic_loss, quadratic_params

INT32_MAX = int(np.iinfo(np.int32).max)


def _int32_scalars(state):
    return [leaf for leaf in jax.tree.leaves(state) if leaf.dtype == jnp.int32 and leaf.ndim == 0]


def _near_limit(state):
    return jax.tree.map(
        lambda x: jnp.full_like(x, INT32_MAX - 2) if x.dtype == jnp.int32 and x.ndim == 0 else x, state
    )


COUNTED = [case for case in CASES if _int32_scalars(case.make(0.01).init(quadratic_params()))]


def test_every_optimizer_with_state_has_a_counter_or_is_listed():
    without = {case.name for case in CASES} - {case.name for case in COUNTED}
    # These keep no step count (plain SGD/momentum/sign/Rprop-style rules); a new optimizer
    # with a counter lands in COUNTED automatically.
    assert without <= {
        "sgd",
        "sgd_momentum",
        "sgd_nesterov",
        "adagrad",
        "rmsprop",
        "rmsprop_centered",
        "rprop",
        "sign_sgd",
        "signum",
        "optimistic_gradient_descent",
        "fromage",
        "sm3",
        "lars",
        "adadelta",
        # Learning-rate-free rules that track sums and maxima, not steps (as in optax).
        "cocob",
        "dog",
        "dowg",
    }, without


@pytest.mark.parametrize("case", COUNTED, ids=[c.name for c in COUNTED])
def test_counters_saturate_at_int32_max_and_updates_stay_finite(case):
    tx = case.make(case.quadratic_lr)
    params = quadratic_params()
    state = _near_limit(tx.init(params))

    @jax.jit
    def step(params, state):
        grads = jax.grad(quadratic_loss)(params)
        updates, state = tx.update(
            grads, state, params, value=quadratic_loss(params), grad=grads, value_fn=quadratic_loss
        )
        return gdx.apply_updates(params, updates), state, updates

    for _ in range(3):
        params, state, updates = step(params, state)
        for leaf in jax.tree.leaves((updates, params)):
            assert bool(jnp.all(jnp.isfinite(leaf))), f"{case.name}: non-finite update near int32 max"
    counters = _int32_scalars(state)
    assert counters and all(int(c) == INT32_MAX for c in counters), [int(c) for c in counters]
    for leaf in jax.tree.leaves(state):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert bool(jnp.all(jnp.isfinite(leaf))), f"{case.name}: non-finite state near int32 max"


@pytest.mark.parametrize(
    "make",
    [
        lambda: gdx.MultiSteps(gdx.adam(0.01), every_k_schedule=2),
        lambda: gdx.apply_if_finite(gdx.adam(0.01), max_consecutive_errors=3),
        lambda: gdx.inject_hyperparams(gdx.adam)(learning_rate=gdx.cosine_decay_schedule(0.01, 1000)),
    ],
    ids=["MultiSteps", "apply_if_finite", "inject_hyperparams_schedule"],
)
def test_wrapper_counters_saturate(make):
    tx = make()
    params = quadratic_params()
    state = _near_limit(tx.init(params))
    update = jax.jit(tx.update)
    for _ in range(3):
        updates, state = update(jax.grad(quadratic_loss)(params), state, params)
        params = gdx.apply_updates(params, updates)
    assert all(0 <= int(c) <= INT32_MAX for c in _int32_scalars(state))
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(params))
