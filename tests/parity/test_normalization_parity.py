"""`normalize`, `centralize` and `normalize_by_update_norm` against optax and optax.contrib 0.2.8."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

import gdx
from tests.parity.harness import assert_parity


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


def both(name, *args, **kwargs):
    return getattr(gdx, name)(*args, **kwargs), getattr(optax, name)(*args, **kwargs)


def check_transform(name, kwargs, steps, step_size=-0.05, **parity):
    ours, theirs = both(name, **kwargs)
    assert_parity(
        gdx.chain(ours, gdx.scale(step_size)),
        optax.chain(theirs, optax.scale(step_size)),
        steps=steps,
        **parity,
    )


TRANSFORM_CASES = [
    ("centralize", {}, 100),
    ("normalize_by_update_norm", {}, 100),
]


@pytest.mark.parametrize(
    "name, kwargs, steps",
    TRANSFORM_CASES,
    ids=[f"{name}-{'-'.join(kwargs) or 'defaults'}" for name, kwargs, _ in TRANSFORM_CASES],
)
def test_transform(name, kwargs, steps):
    check_transform(name, kwargs, steps)
