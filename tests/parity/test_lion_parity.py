"""lion against optax (params after every step, final state)."""

import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import MASK, assert_parity, check_named, decaying_from, not_a_vector

decaying = decaying_from(0.1)


def test_lion():
    check_named("lion", 1e-2)


def test_lion_non_default():
    check_named("lion", 3e-3, b1=0.8, b2=0.95, mu_dtype=jnp.bfloat16, weight_decay=0.1, mask=MASK, steps=50)


def test_lion_schedules():
    check_named("lion", decaying, weight_decay=decaying, mask=not_a_vector, steps=50)


def test_scale_by_lion():
    assert_parity(gdx.scale_by_lion(), optax.scale_by_lion(), steps=100)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(b1=0.8, b2=0.9, mu_dtype=jnp.bfloat16),
        dict(mode="smooth", smooth_beta=2.0),
        dict(mode="refined"),
    ],
    ids=["non-default", "smooth", "refined"],
)
def test_scale_by_lion_variants(kwargs):
    assert_parity(gdx.scale_by_lion(**kwargs), optax.scale_by_lion(**kwargs), steps=30)
