"""Polyak SGD and scale_by_polyak against optax (params after every step, final state)."""

import jax
import jax.numpy as jnp
import pytest

from tests.parity.harness import assert_parity, both, check_transform, decaying, make_params


def half_squared_norm(params, step):
    """A loss value for Polyak's step: any deterministic function of the params will do.

    The bfloat16 leaf is left out: gdx rounds its update to bfloat16 (updates keep the
    grads' dtype) where optax adds a float32 update, and a loss that saw that rounding
    would pass it on to every float32 leaf through the step size.
    """
    del step
    leaves = [p for p in jax.tree.leaves(params) if p.dtype == jnp.float32]
    return {"value": sum(0.5 * jnp.sum(jnp.square(p)) for p in leaves)}


@pytest.mark.parametrize(
    "kwargs, steps",
    [({}, 100), (dict(f_min=-1.0, max_learning_rate=0.3, eps=1e-3, variant="sps+"), 30)],
    ids=["defaults", "sps+"],
)
def test_scale_by_polyak(kwargs, steps):
    # Steps small next to the params, so that gdx's bfloat16 update (optax's is float32)
    # rounds the bfloat16 leaf the same way.
    check_transform("scale_by_polyak", kwargs, steps, step_size=-0.05, extra_args=half_squared_norm)


def test_polyak_sgd_defaults():
    # Unit steps on a bfloat16 leaf would drift apart by rounding (gdx's update is bfloat16,
    # optax's float32), so the main case is float32 only; the variants have a bfloat16 leaf.
    params = make_params(0, bfloat16=False)
    assert_parity(*both("polyak_sgd"), steps=100, extra_args=half_squared_norm, params=params)


@pytest.mark.parametrize(
    "kwargs, steps",
    [
        (dict(max_learning_rate=0.05, scaling=decaying, f_min=-1.0, eps=1e-3, variant="sps+"), 30),
        (dict(max_learning_rate=0.02, scaling=0.5), 20),
    ],
    ids=["schedule-sps+", "scaling"],
)
def test_polyak_sgd(kwargs, steps):
    assert_parity(*both("polyak_sgd", **kwargs), steps=steps, extra_args=half_squared_norm)
