"""trace and ema against optax (params after every step, final state)."""

import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity


def test_trace():
    assert_parity(gdx.trace(0.9), optax.trace(0.9), steps=100)


@pytest.mark.parametrize(
    "kwargs",
    [dict(decay=0.5, nesterov=True), dict(decay=0.9, accumulator_dtype=jnp.bfloat16)],
    ids=["nesterov", "bf16-accumulator"],
)
def test_trace_variants(kwargs):
    assert_parity(gdx.trace(**kwargs), optax.trace(**kwargs), steps=30)


def test_ema():
    assert_parity(gdx.ema(0.9), optax.ema(0.9), steps=100)


def test_ema_without_debias():
    assert_parity(gdx.ema(0.5, debias=False), optax.ema(0.5, debias=False), steps=30)
