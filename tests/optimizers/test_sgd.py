"""sgd, lion and lars beyond optax parity: schedules as learning rate and weight decay (bad
hyperparameters and integer params: tests/optimizers/test_generic.py)."""

import jax
import jax.numpy as jnp

import gdx
from tests.transforms.toy import run


def test_schedules_are_accepted_as_learning_rate_and_weight_decay():
    schedule = lambda count: 0.1 * 0.9 ** count.astype(jnp.float32)
    for tx in (gdx.sgd(schedule), gdx.lion(schedule, weight_decay=schedule), gdx.lars(schedule)):
        updates, _ = run(tx, steps=2)
        assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))
