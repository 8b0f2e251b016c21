"""Behaviour of AdaBelief, RAdam and Yogi beyond optax parity: traced hyperparameters under jit.

The generic checks (validation, non-float params, mismatched grads, complex params) run in
tests/optimizers/test_generic.py; convergence, jit and dtypes in tests/test_contract.py.
"""

import jax
import jax.numpy as jnp

import gdx
from tests.optimizers.checks import grads_like, params_f32


def test_traced_hyperparameters_are_accepted_under_jit():
    params = params_f32()

    @jax.jit
    def step(b1, b2, eps):
        total = []
        for tx in (
            gdx.radam(1e-2, b1=b1, b2=b2, eps=eps),
            gdx.adabelief(1e-2, b1=b1, b2=b2, eps=eps),
            gdx.yogi(1e-2, b1=b1, b2=b2, eps=eps),
            gdx.adan(1e-2, b1=b1, b2=b2, b3=b2, eps=eps),
        ):
            updates, _ = tx.update(grads_like(params), tx.init(params), params)
            total.append(updates)
        return total

    for updates in step(jnp.float32(0.9), jnp.float32(0.99), jnp.float32(1e-8)):
        assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))
