"""AdaDelta against optax: transforms and named optimizers.

The cases of the family; the test bodies are the `*_tests` factories of tests/parity/harness.py.
"""

import optax

import gdx
from tests.parity.harness import (
    assert_parity,
    decaying_from,
    not_a_vector,
    optimizer_defaults_tests,
    optimizer_schedule_tests,
    transform_tests,
)

decaying_weight_decay = decaying_from(1e-2, 0.98)


TRANSFORM_CASES = [
    ("scale_by_adadelta", dict(rho=0.5, eps=1e-3), 50),
]

OPTIMIZERS = [
    "adadelta",
]

VARIANT_CASES = [
    ("adadelta", dict(rho=0.5, eps=1e-4, weight_decay=decaying_weight_decay, weight_decay_mask=not_a_vector)),
]

test_transform = transform_tests(TRANSFORM_CASES)
test_optimizer_defaults = optimizer_defaults_tests(OPTIMIZERS)
test_optimizer_variant_with_schedule = optimizer_schedule_tests(VARIANT_CASES)


def test_adadelta_without_learning_rate():
    # optax's default: no scaling at all, the update is +d (ascent); parity still holds.
    assert_parity(gdx.adadelta(), optax.adadelta(), steps=30)
