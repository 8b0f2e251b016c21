"""sgd beyond optax parity: validation, schedules (with lion and lars), integer params."""

import jax
import jax.numpy as jnp
import pytest

import gdx
from tests.transforms.toy import run

# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: gdx.sgd(float("inf")), "learning_rate"),
        (lambda: gdx.sgd(-0.1), "learning_rate"),
        (lambda: gdx.sgd(0.1, momentum=1.0), "momentum"),
        (lambda: gdx.sgd(0.1, momentum=-0.1), "momentum"),
    ],
)
def test_bad_hyperparameters_are_rejected_naming_the_argument(build, name):
    with pytest.raises(ValueError, match=name):
        build()


def test_schedules_are_accepted_as_learning_rate_and_weight_decay():
    schedule = lambda count: 0.1 * 0.9 ** count.astype(jnp.float32)
    for tx in (gdx.sgd(schedule), gdx.lion(schedule, weight_decay=schedule), gdx.lars(schedule)):
        updates, _ = run(tx, steps=2)
        assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))


@pytest.mark.parametrize("name", ["sgd"])
def test_integer_params_rejected_at_init(name):
    tx = getattr(gdx, name)(0.1)
    with pytest.raises(TypeError, match=name):
        tx.init({"w": jnp.ones(3), "steps": jnp.zeros((), jnp.int32)})
