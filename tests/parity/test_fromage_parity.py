"""Fromage against optax (params after every step, final state)."""

from tests.parity.harness import decaying, optimizer_tests

OPTIMIZER_CASES = [
    ("fromage", dict(learning_rate=1e-2), 100),
    ("fromage", dict(learning_rate=decaying, min_norm=1e-2), 50),
]


test_optimizer = optimizer_tests(OPTIMIZER_CASES)
