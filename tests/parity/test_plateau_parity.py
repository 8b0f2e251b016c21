"""`gdx.reduce_on_plateau` against `optax.contrib.reduce_on_plateau` (params every step, final state)."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import optax
import optax.contrib

import gdx
import gdx.contrib
from tests.parity.harness import assert_parity, make_params


def plateauing_loss(params, step):
    """A loss that falls for 20 steps, then plateaus with a little noise."""
    del params
    step = step.astype(jnp.float32)
    return {"value": jnp.maximum(10.0 - 0.5 * step, 0.0) + 0.01 * jnp.sin(3.0 * step)}


def test_reduce_on_plateau_signature_matches_optax_contrib():
    ours = inspect.signature(gdx.reduce_on_plateau).parameters
    theirs = inspect.signature(optax.contrib.reduce_on_plateau).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]
    assert gdx.ReduceLROnPlateauState._fields == optax.contrib.ReduceLROnPlateauState._fields
    assert gdx.contrib.reduce_on_plateau is gdx.reduce_on_plateau


def test_reduce_on_plateau():
    kwargs = dict(factor=0.5, patience=3, cooldown=2, accumulation_size=2, min_scale=0.05)
    assert_parity(
        gdx.chain(gdx.sgd(0.1), gdx.reduce_on_plateau(**kwargs)),
        optax.chain(optax.sgd(0.1), optax.contrib.reduce_on_plateau(**kwargs)),
        steps=100,
        extra_args=plateauing_loss,
    )


def half_squared_norm(params, step):
    del step
    return {"value": sum(0.5 * jnp.sum(jnp.square(p.astype(jnp.float32))) for p in jax.tree.leaves(params))}


def test_reduce_on_plateau_defaults_and_tolerances():
    kwargs = dict(patience=2, rtol=0.0, atol=0.5)
    assert_parity(
        gdx.chain(gdx.adam(0.05), gdx.reduce_on_plateau(**kwargs)),
        optax.chain(optax.adam(0.05), optax.contrib.reduce_on_plateau(**kwargs)),
        steps=40,
        extra_args=half_squared_norm,
        params=make_params(bfloat16=False),
    )
