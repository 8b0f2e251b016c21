"""`gdx.sophia` against `optax.contrib.sophia` 0.2.8 (params after every step, final state)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
import optax.contrib

import gdx
from tests.parity.harness import assert_parity


def schedule(count):
    return 0.02 / (1.0 + 0.01 * count.astype(jnp.float32))


# optax's Hutchinson estimator fails on trees mixing float32 and bfloat16 params (it casts the
# probe to the lowest dtype; jvp then rejects it), so the parity runs use an all-float32 tree;
# tests/optimizers/test_sophia.py runs gdx on the mixed tree.

SOPHIA_PARAMS = {
    "w": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3),
    "b": jnp.array([0.3, -0.2]),
    "s": jnp.array(0.7),
}


def sophia_objective(params):
    return sum(jnp.sum(0.5 * x**2 + 0.1 * x**4) for x in jax.tree.leaves(params))


def test_sophia_matches_optax():
    assert_parity(
        gdx.sophia(0.01),
        optax.contrib.sophia(0.01),
        steps=40,
        params=SOPHIA_PARAMS,
        extra_args=lambda params, step: {"obj_fn": sophia_objective},
    )


def test_sophia_non_defaults_match_optax():
    common: dict[str, Any] = dict(
        b1=0.9, b2=0.95, eps=1e-6, weight_decay=1e-3, gamma=0.05, clip_threshold=0.5, update_interval=3
    )
    key = jax.random.PRNGKey(4)
    assert_parity(
        gdx.sophia(schedule, hessian_diagonal_fn=gdx.hutchinson_estimator_diag_hessian(key), **common),
        optax.contrib.sophia(
            schedule, hessian_diagonal_fn=optax.contrib.hutchinson_estimator_diag_hessian(key), **common
        ),
        steps=40,
        params=SOPHIA_PARAMS,
        extra_args=lambda params, step: {"obj_fn": sophia_objective},
    )
