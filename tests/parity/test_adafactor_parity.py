"""Adafactor against optax (params after every step, final state)."""

import jax.numpy as jnp

from tests.parity.harness import MASK, decaying, optimizer_tests

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


test_optimizer = optimizer_tests(OPTIMIZER_CASES)
