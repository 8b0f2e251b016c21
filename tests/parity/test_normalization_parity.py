"""`normalize`, `centralize` and `normalize_by_update_norm` against optax and optax.contrib 0.2.8."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib

import gdx
from tests.parity.harness import assert_parity, transform_tests


def test_normalize_in_a_chain_matches_optax():
    # Updates keep the bfloat16 leaf's dtype in gdx (optax returns float32 there):
    # the params still agree within the bfloat16 tolerance.
    assert_parity(
        gdx.chain(gdx.normalize(), gdx.sgd(0.1)),
        optax.chain(optax.contrib.normalize(), optax.sgd(0.1)),
        steps=30,
    )


def test_normalize_keeps_a_zero_update_zero():
    # optax returns NaN (0 / 0) here; gdx keeps the zeros (documented difference).
    updates, _ = gdx.normalize().update({"w": jnp.zeros(3)}, gdx.NormalizeState())
    np.testing.assert_array_equal(updates["w"], np.zeros(3))


TRANSFORM_CASES = [
    ("centralize", {}, 100),
    ("normalize_by_update_norm", {}, 100),
]


test_transform = transform_tests(TRANSFORM_CASES)
