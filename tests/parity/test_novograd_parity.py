"""NovoGrad against optax: transforms and named optimizers.

The cases of the family; the test bodies are the `*_tests` factories of tests/parity/harness.py.
"""

from tests.parity.harness import (
    large_gradient_tests,
    optimizer_defaults_tests,
    optimizer_schedule_tests,
    transform_tests,
)

TRANSFORM_CASES = [
    ("scale_by_novograd", {}, 100),
    ("scale_by_novograd", dict(b1=0.5, b2=0.5, eps=1e-6, eps_root=1e-6, weight_decay=0.1), 50),
]

OPTIMIZERS = [
    "novograd",
]

VARIANT_CASES = [
    ("novograd", dict(b1=0.5, b2=0.5, eps=1e-8, eps_root=1e-8, weight_decay=0.05)),
]

test_transform = transform_tests(TRANSFORM_CASES)
test_optimizer_defaults = optimizer_defaults_tests(OPTIMIZERS)
test_optimizer_variant_with_schedule = optimizer_schedule_tests(VARIANT_CASES)
test_large_gradients_stay_in_parity = large_gradient_tests(["novograd"])
