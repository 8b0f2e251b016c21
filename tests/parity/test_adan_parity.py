"""Adan against optax: transforms and named optimizers.

The cases of the family; the test bodies are the `*_tests` factories of tests/parity/harness.py.
"""

from tests.parity.harness import (
    MASK,
    large_gradient_tests,
    optimizer_defaults_tests,
    optimizer_schedule_tests,
    transform_tests,
)

TRANSFORM_CASES = [
    ("scale_by_adan", {}, 100),
    ("scale_by_adan", dict(b1=0.9, b2=0.8, b3=0.95, eps=1e-6, eps_root=1e-8), 50),
]

OPTIMIZERS = [
    "adan",
]

VARIANT_CASES = [
    ("adan", dict(b1=0.9, b2=0.8, b3=0.95, eps_root=0.0, weight_decay=0.05, mask=MASK)),
]

test_transform = transform_tests(TRANSFORM_CASES)
test_optimizer_defaults = optimizer_defaults_tests(OPTIMIZERS)
test_optimizer_variant_with_schedule = optimizer_schedule_tests(VARIANT_CASES)
test_large_gradients_stay_in_parity = large_gradient_tests(["adan"])
