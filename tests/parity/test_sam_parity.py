"""SAM against `optax.contrib.sam` 0.2.8, over several sync periods and in opaque mode."""

import jax
import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity


def _sam(lib, **kwargs):
    contrib = gdx if lib is gdx else optax.contrib
    adversary = lib.chain(contrib.normalize(), lib.sgd(0.05))
    return contrib.sam(lib.adam(0.01), adversary, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(sync_period=3, reset_state=False)],
    ids=["sync-2-reset", "sync-3-no-reset"],
)
def test_sam_matches_optax_over_several_sync_periods(kwargs):
    assert_parity(_sam(gdx, **kwargs), _sam(optax, **kwargs), steps=30)


def _loss(params):
    return sum(jnp.sum(jnp.square(x.astype(jnp.float32) - 0.5)) for x in jax.tree.leaves(params))


def test_sam_opaque_mode_with_grad_fn_matches_optax():
    grad_fn = jax.grad(lambda params, step: _loss(params))
    kwargs = dict(sync_period=3, opaque_mode=True)
    assert_parity(
        _sam(gdx, **kwargs),
        _sam(optax, **kwargs),
        steps=20,
        extra_args=lambda params, step: {"grad_fn": grad_fn},
    )
