"""The Adam and RMS families against optax: params after every step and the final state.

Main cases run 100 steps; variants fewer (compile time dominates a case).
"""

import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import (
    MASK,
    assert_parity,
    check_named,
    decaying,
    decaying_from,
    not_a_vector,
    optimizer_tests,
    transform_tests,
)

decaying_weight_decay = decaying_from(1e-2, 0.98)


# --- low-level transforms ---------------------------------------------------------

TRANSFORM_CASES = [
    ("scale_by_adam", {}, 100),
    ("scale_by_adam", dict(b1=0.8, b2=0.99, eps=1e-6, eps_root=1e-8, nesterov=True), 50),
    ("scale_by_adam", dict(mu_dtype=jnp.bfloat16), 50),
    ("scale_by_adam", dict(mu_dtype=jnp.float32, nesterov=True), 30),
    ("scale_by_amsgrad", {}, 100),
    ("scale_by_amsgrad", dict(bias_correction_mu=False, bias_correction_nu=False, mu_dtype=jnp.bfloat16), 30),
    ("scale_by_adamax", {}, 100),
    ("scale_by_adamax", dict(b1=0.5, b2=0.9, eps=1e-3), 30),
    ("scale_by_rss", {}, 100),
    ("scale_by_rss", dict(initial_accumulator_value=0.0, eps=1e-3), 30),
    ("scale_by_rms", {}, 100),
    (
        "scale_by_rms",
        dict(decay=0.95, eps=1e-4, initial_scale=0.5, eps_in_sqrt=False, bias_correction=True),
        50,
    ),
    ("scale_by_stddev", {}, 100),
    ("scale_by_stddev", dict(decay=0.95, initial_scale=1.0, eps_in_sqrt=False, bias_correction=True), 50),
]


test_transform = transform_tests(TRANSFORM_CASES)


# --- optimizers -----------------------------------------------------------------------

OPTIMIZER_CASES = [
    ("adam", {}, 100),
    ("adam", dict(b1=0.8, b2=0.99, eps_root=1e-8, mu_dtype=jnp.bfloat16, nesterov=True), 50),
    ("nadam", {}, 100),
    ("nadam", dict(b2=0.95, eps=1e-6, nesterov=False), 30),
    ("amsgrad", {}, 100),
    ("amsgrad", dict(b1=0.5, eps_root=1e-10, bias_correction_mu=False, bias_correction_nu=False), 30),
    ("adamw", {}, 100),
    ("adamw", dict(weight_decay=0.1, mask=MASK), 50),
    ("nadamw", dict(weight_decay=0.05), 100),
    ("nadamw", dict(weight_decay=0.05, mask=not_a_vector, nesterov=False), 30),
    ("adamax", {}, 100),
    ("adamax", dict(b1=0.5, b2=0.9, eps=1e-4), 30),
    ("adamaxw", dict(weight_decay=0.05), 100),
    ("adamaxw", dict(weight_decay=0.05, mask=MASK), 30),
    ("adagrad", {}, 100),
    ("adagrad", dict(initial_accumulator_value=0.0, eps=1e-4), 30),
    ("rmsprop", {}, 100),
    ("rmsprop", dict(centered=True, momentum=0.9, nesterov=True), 100),
    ("rmsprop", dict(momentum=0.5, eps_in_sqrt=False, bias_correction=True, initial_scale=0.1), 50),
    ("rmsprop", dict(centered=True, eps_in_sqrt=False, bias_correction=True, initial_scale=1.0), 30),
]


test_optimizer = optimizer_tests(OPTIMIZER_CASES, 1e-2)


# Every optimizer scales by the learning rate through the same `scale_by_learning_rate`,
# so a few representatives cover schedules.
@pytest.mark.parametrize("name", ["adam", "adagrad"])
def test_optimizer_with_schedule(name):
    check_named(name, decaying, steps=50)


def test_adamw_with_schedules_and_callable_mask():
    check_named(
        "adamw",
        decaying,
        weight_decay=decaying_weight_decay,
        mask=not_a_vector,
        mu_dtype=jnp.bfloat16,
        steps=50,
    )


def test_rmsprop_centered_momentum_with_schedule():
    check_named(
        "rmsprop", decaying, centered=True, momentum=0.9, nesterov=True, bias_correction=True, steps=50
    )


def test_adam_large_gradients_stay_in_parity():
    # Large gradients exercise the eps-free regime of the denominator.
    assert_parity(gdx.adam(1e-3), optax.adam(1e-3), steps=30, grad_scale=1e3)
