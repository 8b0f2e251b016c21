"""The optimistic optimizers against optax: transforms and named optimizers.

The cases of the family; the test bodies are the `*_tests` factories of tests/parity/harness.py.
"""

import jax.numpy as jnp
import pytest

from tests.parity.harness import (
    optimizer_defaults_tests,
    optimizer_number_tests,
    optimizer_schedule_tests,
    transform_tests,
)

pytestmark = pytest.mark.filterwarnings("ignore:`optimistic_adam` is deprecated:DeprecationWarning")


TRANSFORM_CASES = [
    ("scale_by_optimistic_gradient", dict(alpha=0.5, beta=2.0), 50),
]

OPTIMIZERS = [
    "optimistic_gradient_descent",
    "optimistic_adam",
    "optimistic_adam_v2",
]

VARIANT_CASES = [
    ("optimistic_gradient_descent", dict(alpha=0.5, beta=2.0)),
    ("optimistic_adam_v2", dict(alpha=0.5, beta=0.5, b2=0.99, mu_dtype=jnp.bfloat16, nesterov=False)),
]

# rprop and optimistic_adam take no schedule (in optax neither).
NUMBER_CASES = [
    (
        "optimistic_adam",
        dict(optimism=0.05, b1=0.8, eps_root=1e-8, mu_dtype=jnp.bfloat16, nesterov=False),
    ),
]

test_transform = transform_tests(TRANSFORM_CASES)
test_optimizer_defaults = optimizer_defaults_tests(OPTIMIZERS)
test_optimizer_variant_with_schedule = optimizer_schedule_tests(VARIANT_CASES)
test_optimizer_variant = optimizer_number_tests(NUMBER_CASES)
