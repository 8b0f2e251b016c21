"""scale, scale_by_schedule, scale_by_learning_rate against optax."""

import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, decaying_from

decaying = decaying_from(0.1, 0.97)


@pytest.mark.parametrize("step_size", [0.1, -3.0])
def test_scale(step_size):
    assert_parity(gdx.scale(step_size), optax.scale(step_size), steps=100)


def test_scale_by_schedule():
    assert_parity(gdx.scale_by_schedule(decaying), optax.scale_by_schedule(decaying), steps=100)


@pytest.mark.parametrize("learning_rate", [0.05, decaying, None], ids=["number", "schedule", "none"])
@pytest.mark.parametrize("flip_sign", [True, False])
def test_scale_by_learning_rate(learning_rate, flip_sign):
    assert_parity(
        gdx.scale_by_learning_rate(learning_rate, flip_sign=flip_sign),
        optax.scale_by_learning_rate(learning_rate, flip_sign=flip_sign),
        steps=100,
    )
