"""Behaviour of NovoGrad beyond optax parity: params only with weight decay, and `mu_dtype`.

The generic checks (validation, non-float params, mismatched grads, complex params) run in
tests/optimizers/test_generic.py; convergence, jit and dtypes in tests/test_contract.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.optimizers.checks import grads_like, params_f32
from tests.parity.harness import optax_promotion


def test_novograd_needs_params_only_with_weight_decay():
    params = params_f32()
    grads = grads_like(params)
    plain = gdx.novograd(1e-2)
    without, _ = plain.update(grads, plain.init(params))
    with_params, _ = plain.update(grads, plain.init(params), params)
    jax.tree.map(np.testing.assert_array_equal, without, with_params)
    decayed = gdx.novograd(1e-2, weight_decay=0.1)
    with pytest.raises(ValueError, match="novograd needs params when weight_decay != 0"):
        decayed.update(grads, decayed.init(params))


def test_novograd_mu_dtype_keeps_state_and_update_dtypes():
    params = params_f32()
    tx = gdx.scale_by_novograd(mu_dtype=jnp.bfloat16)
    state = tx.init(params)
    grads = [grads_like(params, seed) for seed in range(3)]
    for g in grads:
        updates, state = tx.update(g, state, params)
    assert all(m.dtype == jnp.bfloat16 for m in jax.tree.leaves(state.mu))
    assert all(u.dtype == jnp.float32 for u in jax.tree.leaves(updates))
    with optax_promotion():
        reference = optax.scale_by_novograd(mu_dtype=jnp.bfloat16)
        reference_state = reference.init(params)
        for g in grads:
            expected, reference_state = reference.update(g, reference_state, params)
    for got, want in zip(jax.tree.leaves(updates), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got, np.asarray(want, np.float32), rtol=1e-2, atol=1e-2)
