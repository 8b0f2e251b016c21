"""Adafactor against optax (params after every step, final state)."""

import jax.numpy as jnp
import pytest

from tests.parity.harness import MASK, assert_parity, both, decaying

OPTIMIZER_CASES = [
    ("adafactor", dict(learning_rate=1e-2, min_dim_size_to_factor=2), 100),
    ("adafactor", {}, 50),
    (
        "adafactor",
        dict(
            learning_rate=decaying,
            min_dim_size_to_factor=3,
            decay_rate=0.5,
            decay_offset=1,
            momentum=0.9,
            dtype_momentum=jnp.bfloat16,
            weight_decay_rate=1e-3,
            weight_decay_mask=MASK,
            eps=1e-20,
        ),
        50,
    ),
    (
        "adafactor",
        dict(learning_rate=0.05, clipping_threshold=None, multiply_by_parameter_scale=False, factored=False),
        30,
    ),
    (
        "adafactor",
        dict(learning_rate=0.05, clipping_threshold=0.5, momentum=0.5, weight_decay_rate=decaying),
        30,
    ),
]


@pytest.mark.parametrize(
    "name, kwargs, steps",
    OPTIMIZER_CASES,
    ids=[f"{name}-{'-'.join(kwargs) or 'defaults'}" for name, kwargs, _ in OPTIMIZER_CASES],
)
def test_optimizer(name, kwargs, steps):
    assert_parity(*both(name, **kwargs), steps=steps)
