"""`join_schedules` with one boundary per schedule (the last ends the run), as maxtext and levanter do."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import optax_promotion, schedule_values

WARMUP, COSINE, ZERO = 10, 40, 5
PEAK, FINAL = 3e-4, 3e-5


def _maxtext_schedule(lib, *, with_zero_tail):
    """maxtext's `create_learning_rate_schedule`: linear warmup, its own cosine, then optionally 0."""

    def cosine(step):
        progress = jnp.minimum(step / COSINE, 1.0)
        return FINAL + 0.5 * (PEAK - FINAL) * (1.0 + jnp.cos(jnp.pi * progress))

    pieces = [lib.linear_schedule(init_value=0.0, end_value=PEAK, transition_steps=WARMUP), cosine]
    boundaries = [WARMUP, WARMUP + COSINE]
    if with_zero_tail:
        pieces.append(lib.constant_schedule(0.0))
        boundaries.append(WARMUP + COSINE + ZERO)
    return lib.join_schedules(pieces, boundaries)


@pytest.mark.parametrize("with_zero_tail", [False, True])
@pytest.mark.parametrize("jit", [False, True])
def test_one_boundary_per_schedule_gives_optax_values_at_every_step(with_zero_tail, jit):
    steps = WARMUP + COSINE + ZERO + 10
    with pytest.warns(UserWarning, match="last boundary .* is ignored, as in optax"):
        schedule = _maxtext_schedule(gdx, with_zero_tail=with_zero_tail)
    with optax_promotion():
        expected = schedule_values(_maxtext_schedule(optax, with_zero_tail=with_zero_tail), steps, jit=jit)
    got = schedule_values(schedule, steps, jit=jit)
    np.testing.assert_array_equal(got, expected)


def test_the_ignored_boundary_is_not_validated_as_optax_ignores_it():
    # optax never reads the trailing boundary, so neither does gdx (a config that ran on optax runs on gdx).
    with pytest.warns(UserWarning, match="ignored"):
        schedule = gdx.join_schedules([gdx.constant_schedule(1.0), gdx.constant_schedule(2.0)], [3, -1])
    np.testing.assert_array_equal(schedule_values(schedule, 6, jit=True), [1.0, 1.0, 1.0, 2.0, 2.0, 2.0])


def test_the_warning_comes_once_per_construction_and_not_per_step():
    with pytest.warns(UserWarning) as record:
        schedule = gdx.join_schedules([gdx.constant_schedule(1.0), gdx.constant_schedule(2.0)], [3, 6])
        schedule_values(schedule, 8, jit=False)
    assert len(record) == 1


def test_one_fewer_boundary_does_not_warn(recwarn):
    gdx.join_schedules([gdx.constant_schedule(1.0), gdx.constant_schedule(2.0)], [3])
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
