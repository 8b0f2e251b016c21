"""Schedule-Free against `optax.contrib` 0.2.8.

Params are compared after every step and the final state leaf by leaf
(harness), and the evaluation params of the wrapper. One jitted scan per case
and library.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import TOLERANCES, assert_parity, make_params, optax_promotion, run_trajectory

SCHEDULE_FREE_CASES = {
    "adamw-defaults": (lambda lib: lib.schedule_free_adamw(), 100),
    "adamw-warmup-weight-decay": (
        lambda lib: lib.schedule_free_adamw(
            0.01, warmup_steps=5, b1=0.95, b2=0.99, eps=1e-6, weight_decay=0.01, weight_lr_power=1.0
        ),
        40,
    ),
    "sgd-warmup-weight-decay": (
        lambda lib: lib.schedule_free_sgd(
            0.1, warmup_steps=3, b1=0.8, weight_decay=0.01, weight_lr_power=3.0
        ),
        40,
    ),
    "sgd-defaults-float32-z": (lambda lib: lib.schedule_free_sgd(0.05, state_dtype=jnp.float32), 40),
}


def _contrib(lib):
    return lib if lib is gdx else optax.contrib


@pytest.mark.parametrize("case", list(SCHEDULE_FREE_CASES))
def test_schedule_free_matches_optax(case):
    make, steps = SCHEDULE_FREE_CASES[case]
    assert_parity(make(gdx), make(optax.contrib), steps=steps)


def test_schedule_free_wrapper_with_schedule_and_eval_params_match_optax():
    """`schedule_free(adam(schedule, b1=0), schedule)`: every step, the final state and its eval params."""

    def make(lib):
        schedule = (
            lib.warmup_cosine_decay_schedule(0.0, 0.01, 5, 40)
            if lib is gdx
            else optax.warmup_cosine_decay_schedule(0.0, 0.01, 5, 40)
        )
        return _contrib(lib).schedule_free(lib.adam(schedule, b1=0.0), schedule, b1=0.9, weight_lr_power=2.0)

    params = make_params()
    common: dict[str, Any] = dict(steps=40, seed=1, grad_scale=1.0)
    trajectory, state = run_trajectory(make(gdx), params, apply_updates=gdx.apply_updates, **common)
    with optax_promotion():
        optax_trajectory, optax_state = run_trajectory(
            make(optax), params, apply_updates=optax.apply_updates, **common
        )
        expected = optax.contrib.schedule_free_eval_params(
            optax_state, jax.tree.map(lambda x: x[-1], optax_trajectory)
        )
    got = gdx.schedule_free_eval_params(state, jax.tree.map(lambda x: x[-1], trajectory))
    pairs = [*zip(jax.tree.leaves(trajectory), jax.tree.leaves(optax_trajectory))]
    pairs += [*zip(jax.tree.leaves(state), jax.tree.leaves(optax_state))]
    pairs += [*zip(jax.tree.leaves(got), jax.tree.leaves(expected))]
    for a, b in pairs:
        assert a.dtype == b.dtype
        tolerance = TOLERANCES.get(np.dtype(a.dtype), dict(rtol=0.0, atol=0.0))
        np.testing.assert_allclose(
            np.asarray(a, np.float32),
            np.asarray(b, np.float32),
            rtol=tolerance["rtol"],
            atol=tolerance["atol"],
        )
