"""sgd against optax (params after every step, final state)."""

import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import check_named, decaying_from

decaying = decaying_from(0.1)


def test_sgd():
    check_named("sgd", 0.1)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(momentum=0.9),
        dict(momentum=0.8, nesterov=True),
        dict(momentum=0.9, accumulator_dtype=jnp.bfloat16),
    ],
    ids=["momentum", "nesterov", "bf16-accumulator"],
)
def test_sgd_momentum(kwargs):
    check_named("sgd", 0.05, **kwargs)


def test_sgd_schedule():
    check_named("sgd", decaying, momentum=0.9, steps=50)


def test_sgd_without_momentum_state_layout():
    params = {"w": jnp.ones(3)}
    state = gdx.sgd(0.1).init(params)
    reference = optax.sgd(0.1).init(params)
    assert isinstance(state, tuple) and len(state) == len(reference) == 2
    assert all(isinstance(s, gdx.EmptyState) for s in state)
    assert [type(s).__name__ for s in state] == [type(s).__name__ for s in reference]
