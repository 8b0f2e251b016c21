"""`gdx.madgrad` against `optax.contrib.madgrad` 0.2.8 (params after every step, final state)."""

from __future__ import annotations

import jax.numpy as jnp
import optax
import optax.contrib

import gdx
from tests.parity.harness import assert_parity


def schedule(count):
    return 0.02 / (1.0 + 0.01 * count.astype(jnp.float32))


def test_madgrad_matches_optax():
    assert_parity(gdx.madgrad(0.01), optax.contrib.madgrad(0.01), steps=60)
    # Non-defaults: a schedule, weight decay (needs params), low momentum.
    assert_parity(
        gdx.madgrad(schedule, momentum=0.5, weight_decay=1e-3, eps=1e-4),
        optax.contrib.madgrad(schedule, momentum=0.5, weight_decay=1e-3, eps=1e-4),
        steps=60,
    )


def test_scale_by_madgrad_matches_optax():
    # scale_by_madgrad takes the learning rate itself (the dual averaging weights by it).
    assert_parity(
        gdx.chain(gdx.contrib.scale_by_madgrad(schedule, momentum=0.5, eps=1e-4), gdx.scale(-1.0)),
        optax.chain(optax.contrib.scale_by_madgrad(schedule, momentum=0.5, eps=1e-4), optax.scale(-1.0)),
        steps=60,
    )
