"""signSGD, Signum and Rprop against optax: transforms and named optimizers.

The cases of the family; the test bodies are the `*_tests` factories of tests/parity/harness.py.
"""

import jax.numpy as jnp

from tests.parity.harness import (
    optimizer_defaults_tests,
    optimizer_number_tests,
    optimizer_schedule_tests,
    transform_tests,
)

TRANSFORM_CASES = [
    ("scale_by_sign", dict(), 100),
    ("scale_by_rprop", dict(learning_rate=0.1), 100),
    (
        "scale_by_rprop",
        dict(learning_rate=0.01, eta_minus=0.3, eta_plus=1.5, min_step_size=1e-3, max_step_size=0.05),
        50,
    ),
]

OPTIMIZERS = [
    "rprop",
    "sign_sgd",
    "signum",
]

VARIANT_CASES = [
    ("sign_sgd", {}),
    ("signum", dict(beta=0.5, accumulator_dtype=jnp.float32)),
]

# rprop and optimistic_adam take no schedule (in optax neither).
NUMBER_CASES = [
    ("rprop", dict(eta_minus=0.3, eta_plus=1.5, min_step_size=1e-4, max_step_size=0.1)),
]

test_transform = transform_tests(TRANSFORM_CASES)
test_optimizer_defaults = optimizer_defaults_tests(OPTIMIZERS)
test_optimizer_variant_with_schedule = optimizer_schedule_tests(VARIANT_CASES)
test_optimizer_variant = optimizer_number_tests(NUMBER_CASES)
