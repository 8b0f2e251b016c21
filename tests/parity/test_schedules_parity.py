"""Every schedule against optax's, jitted (vmapped over counts: one compile) and eager.

Counts run to at least twice the schedule's length so the tail is covered. gdx
runs under strict promotion (the session default), optax under standard.
"""

from __future__ import annotations

import inspect

import jax
import numpy as np
import optax
import pytest

import gdx
import gdx.schedules
from tests.parity.harness import TOLERANCES, assert_parity, optax_promotion, schedule_values

FLOAT32 = TOLERANCES[np.dtype(np.float32)]

SCHEDULE_NAMES = (
    "constant_schedule",
    "linear_schedule",
    "polynomial_schedule",
    "exponential_decay",
    "piecewise_constant_schedule",
    "cosine_decay_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_constant_schedule",
    "warmup_exponential_decay_schedule",
    "join_schedules",
    "sgdr_schedule",
    "cosine_onecycle_schedule",
    "linear_onecycle_schedule",
    "piecewise_interpolate_schedule",
)

SGDR_CYCLES = [
    dict(init_value=0.0, peak_value=1.0, warmup_steps=5, decay_steps=30),
    dict(init_value=0.1, peak_value=0.5, warmup_steps=0, decay_steps=20, end_value=0.01),
    dict(init_value=0.0, peak_value=0.2, warmup_steps=10, decay_steps=40, exponent=2.0),
]

# (id, build(lib) -> schedule, length of the schedule's non-constant part)
CASES = [
    ("constant", lambda lib: lib.constant_schedule(0.1), 10),
    ("linear", lambda lib: lib.linear_schedule(1.0, 0.01, 100), 100),
    (
        "linear-begin",
        lambda lib: lib.linear_schedule(0.0, 1e-3, transition_steps=37, transition_begin=13),
        50,
    ),
    ("polynomial", lambda lib: lib.polynomial_schedule(1.0, 0.01, 2, 100), 100),
    (
        "polynomial-begin-power3",
        lambda lib: lib.polynomial_schedule(
            init_value=1e-2, end_value=1e-4, power=3, transition_steps=40, transition_begin=10
        ),
        50,
    ),
    ("exponential", lambda lib: lib.exponential_decay(1.0, 10, 0.9), 100),
    (
        "exponential-staircase-begin-end",
        lambda lib: lib.exponential_decay(
            0.1, transition_steps=10, decay_rate=0.5, transition_begin=5, staircase=True, end_value=1e-3
        ),
        100,
    ),
    ("exponential-growth-upper-bound", lambda lib: lib.exponential_decay(1e-3, 7, 1.5, end_value=0.1), 100),
    ("piecewise-constant-empty", lambda lib: lib.piecewise_constant_schedule(0.1), 10),
    (
        "piecewise-constant",
        lambda lib: lib.piecewise_constant_schedule(0.1, {30: 0.1, 60: 0.5, 10: 2.0}),
        60,
    ),
    ("cosine", lambda lib: lib.cosine_decay_schedule(1.0, 100), 100),
    ("cosine-alpha-exponent2", lambda lib: lib.cosine_decay_schedule(0.5, 40, alpha=0.1, exponent=2.0), 40),
    ("cosine-exponent-half", lambda lib: lib.cosine_decay_schedule(3e-4, 30, alpha=0.05, exponent=0.5), 30),
    ("warmup-cosine", lambda lib: lib.warmup_cosine_decay_schedule(0.0, 1.0, 10, 100), 100),
    (
        "warmup-cosine-end-exponent",
        lambda lib: lib.warmup_cosine_decay_schedule(1e-4, 3e-3, 20, 60, end_value=1e-5, exponent=1.5),
        60,
    ),
    ("warmup-cosine-no-warmup", lambda lib: lib.warmup_cosine_decay_schedule(0.0, 1.0, 0, 50), 50),
    ("warmup-constant", lambda lib: lib.warmup_constant_schedule(0.0, 1.0, 20), 20),
    ("warmup-exponential", lambda lib: lib.warmup_exponential_decay_schedule(0.0, 1.0, 10, 10, 0.8), 100),
    (
        "warmup-exponential-staircase-begin-end",
        lambda lib: lib.warmup_exponential_decay_schedule(
            1e-4, 1e-2, 15, 10, 0.5, transition_begin=5, staircase=True, end_value=1e-4
        ),
        100,
    ),
    (
        "join",
        lambda lib: lib.join_schedules(
            [
                lib.constant_schedule(1.0),
                lib.linear_schedule(1.0, 0.1, 20),
                lib.cosine_decay_schedule(0.1, 30),
            ],
            [10, 30],
        ),
        60,
    ),
    ("sgdr", lambda lib: lib.sgdr_schedule(SGDR_CYCLES), 90),
    ("cosine-onecycle", lambda lib: lib.cosine_onecycle_schedule(100, 1.0), 100),
    (
        "cosine-onecycle-args",
        lambda lib: lib.cosine_onecycle_schedule(
            50, 0.1, pct_start=0.2, div_factor=10.0, final_div_factor=100.0
        ),
        50,
    ),
    ("linear-onecycle", lambda lib: lib.linear_onecycle_schedule(100, 1.0), 100),
    (
        "linear-onecycle-args",
        lambda lib: lib.linear_onecycle_schedule(
            60, 0.3, pct_start=0.1, pct_final=0.7, div_factor=5.0, final_div_factor=50.0
        ),
        60,
    ),
    (
        "interpolate-linear",
        lambda lib: lib.piecewise_interpolate_schedule("linear", 1.0, {4: 0.1, 8: 0.01}),
        10,
    ),
    (
        "interpolate-cosine",
        lambda lib: lib.piecewise_interpolate_schedule("cosine", 2.0, {40: 0.5, 10: 0.1, 25: 3.0}),
        40,
    ),
    ("interpolate-empty", lambda lib: lib.piecewise_interpolate_schedule("linear", 0.3), 10),
]

EAGER_STEPS = 51
# Eager calls compile each jnp op once per signature, so eager runs one or two cases per name.
EAGER_CASES = [
    case
    for case in CASES
    if case[0]
    in {
        "constant",
        "linear-begin",
        "polynomial-begin-power3",
        "exponential-staircase-begin-end",
        "exponential-growth-upper-bound",
        "piecewise-constant",
        "cosine-alpha-exponent2",
        "warmup-cosine-end-exponent",
        "warmup-constant",
        "warmup-exponential-staircase-begin-end",
        "join",
        "sgdr",
        "cosine-onecycle-args",
        "linear-onecycle-args",
        "interpolate-linear",
        "interpolate-cosine",
    }
]


def _pair(build):
    gdx_schedule = build(gdx)
    with optax_promotion():
        optax_schedule = build(optax)
    return gdx_schedule, optax_schedule


def _optax_values(schedule, steps, *, jit):
    with optax_promotion():
        return schedule_values(schedule, steps, jit=jit)


@pytest.mark.parametrize(("build", "length"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_jitted_schedule_matches_optax(build, length):
    gdx_schedule, optax_schedule = _pair(build)
    steps = 2 * length + 11
    got = schedule_values(gdx_schedule, steps, jit=True)
    expected = _optax_values(optax_schedule, steps, jit=True)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, **FLOAT32)
    count = jax.ShapeDtypeStruct((), np.int32)
    with optax_promotion():
        expected_dtype = jax.eval_shape(optax_schedule, count).dtype
    assert jax.eval_shape(gdx_schedule, count).dtype == expected_dtype == np.float32


@pytest.mark.parametrize(("build", "length"), [c[1:] for c in EAGER_CASES], ids=[c[0] for c in EAGER_CASES])
def test_eager_schedule_matches_optax(build, length):
    gdx_schedule, optax_schedule = _pair(build)
    got = schedule_values(gdx_schedule, EAGER_STEPS, jit=False)
    expected = _optax_values(optax_schedule, EAGER_STEPS, jit=False)
    np.testing.assert_allclose(got, expected, **FLOAT32)
    # Python int counts, as a user calling `schedule(step)` by hand passes them.
    python_counts = (0, 1, length - 1, length, 2 * length + 3)
    got = [np.float32(gdx_schedule(count)) for count in python_counts]
    with optax_promotion():
        expected = [np.float32(optax_schedule(count)) for count in python_counts]
    np.testing.assert_allclose(got, expected, **FLOAT32)


@pytest.mark.parametrize("power", [0.5, 1.5])
def test_fractional_power_polynomial_matches_optax_up_to_the_end(power):
    # Past the end optax's jitted values are wrong (NaN or off end_value): see
    # tests/schedules/test_schedule_validation.py for gdx's values there.
    gdx_schedule, optax_schedule = _pair(
        lambda lib: lib.polynomial_schedule(1.0, 0.01, power, transition_steps=30, transition_begin=5)
    )
    got = schedule_values(gdx_schedule, 35, jit=True)
    expected = _optax_values(optax_schedule, 35, jit=True)
    np.testing.assert_allclose(got, expected, **FLOAT32)
    np.testing.assert_allclose(
        schedule_values(gdx_schedule, 40, jit=False), _optax_values(optax_schedule, 40, jit=False), **FLOAT32
    )


def test_every_schedule_is_covered_and_exported():
    for name in SCHEDULE_NAMES:
        assert getattr(gdx, name) is getattr(gdx.schedules, name)
        assert getattr(optax, name) is getattr(optax.schedules, name)
    for cases in (CASES, EAGER_CASES):
        covered = {
            name for name in SCHEDULE_NAMES for case in cases if f"lib.{name}(" in inspect.getsource(case[1])
        }
        assert covered == set(SCHEDULE_NAMES)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_signature_matches_optax(name):
    def parameters(function):
        return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]

    assert parameters(getattr(gdx, name)) == parameters(getattr(optax, name))


def test_schedule_as_learning_rate_matches_optax():
    from gdx.transforms.scaling import scale_by_learning_rate

    def build(lib):
        return lib.warmup_exponential_decay_schedule(0.0, 0.1, 10, 20, 0.5, staircase=True, end_value=1e-3)

    _, optax_schedule = _pair(build)
    assert_parity(scale_by_learning_rate(build(gdx)), optax.scale_by_learning_rate(optax_schedule), steps=100)
