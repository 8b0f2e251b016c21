"""zero_nans and keep_params_nonnegative against optax (params after every step, final state)."""

import jax
import jax.numpy as jnp
import optax

import gdx
from tests.parity.harness import assert_parity


def test_zero_nans_zeroes_and_records_nans():
    def nan_where_large(make_stateless):
        return make_stateless(lambda u, p: jax.tree.map(lambda x: jnp.where(x > 1.5, jnp.nan, x), u))

    assert_parity(
        gdx.chain(nan_where_large(gdx.stateless), gdx.zero_nans(), gdx.scale(-0.05)),
        optax.chain(nan_where_large(optax.stateless), optax.zero_nans(), optax.scale(-0.05)),
        steps=100,
    )


def test_keep_params_nonnegative():
    assert_parity(
        gdx.chain(gdx.scale(-0.2), gdx.keep_params_nonnegative()),
        optax.chain(optax.scale(-0.2), optax.keep_params_nonnegative()),
        steps=100,
    )
