"""`gdx.acprop` against `optax.contrib.acprop` 0.2.8 (params after every step, final state)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import optax.contrib

import gdx
from tests.parity.harness import assert_parity


def schedule(count):
    return 0.02 / (1.0 + 0.01 * count.astype(jnp.float32))


def test_acprop_matches_optax():
    assert_parity(gdx.acprop(1e-3), optax.contrib.acprop(1e-3), steps=60)
    mask = lambda params: jax.tree.map(lambda p: p.ndim > 1, params)  # noqa: E731
    assert_parity(
        gdx.acprop(schedule, b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-10, weight_decay=1e-2, mask=mask),
        optax.contrib.acprop(
            schedule, b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-10, weight_decay=1e-2, mask=mask
        ),
        steps=60,
    )


def test_scale_by_acprop_matches_optax():
    assert_parity(
        gdx.chain(gdx.contrib.scale_by_acprop(b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-10), gdx.scale(-1e-2)),
        optax.chain(
            optax.contrib.scale_by_acprop(b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-10), optax.scale(-1e-2)
        ),
        steps=60,
    )
