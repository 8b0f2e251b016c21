"""Fromage against optax (params after every step, final state)."""

import pytest

from tests.parity.harness import assert_parity, both, decaying

OPTIMIZER_CASES = [
    ("fromage", dict(learning_rate=1e-2), 100),
    ("fromage", dict(learning_rate=decaying, min_norm=1e-2), 50),
]


@pytest.mark.parametrize(
    "name, kwargs, steps",
    OPTIMIZER_CASES,
    ids=[f"{name}-{'-'.join(kwargs) or 'defaults'}" for name, kwargs, _ in OPTIMIZER_CASES],
)
def test_optimizer(name, kwargs, steps):
    assert_parity(*both(name, **kwargs), steps=steps)
