"""AdaBelief, RAdam and Yogi against optax: transforms and named optimizers.

The cases of the family; the test bodies are the `*_tests` factories of tests/parity/harness.py.
"""

from tests.parity.harness import (
    optimizer_defaults_tests,
    optimizer_schedule_tests,
    transform_tests,
)

TRANSFORM_CASES = [
    ("scale_by_belief", dict(b1=0.8, b2=0.99, eps=1e-8, eps_root=0.0, nesterov=True), 50),
    ("scale_by_radam", dict(b2=0.99, eps_root=1e-8, threshold=3.0, nesterov=True), 50),
    ("scale_by_yogi", dict(b1=0.5, b2=0.9, eps=1e-2, eps_root=1e-8, initial_accumulator_value=0.1), 50),
]

OPTIMIZERS = [
    "adabelief",
    "radam",
    "yogi",
]

VARIANT_CASES = [
    ("adabelief", dict(b1=0.8, b2=0.99, eps=1e-8, eps_root=0.0, nesterov=True)),
    ("radam", dict(b1=0.8, b2=0.99, eps_root=1e-8, threshold=4.0, nesterov=True)),
    ("yogi", dict(b1=0.5, b2=0.9, eps=1e-4)),
]

test_transform = transform_tests(TRANSFORM_CASES)
test_optimizer_defaults = optimizer_defaults_tests(OPTIMIZERS)
test_optimizer_variant_with_schedule = optimizer_schedule_tests(VARIANT_CASES)
