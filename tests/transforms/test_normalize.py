"""`normalize`: jit once, dtypes kept, unit global norm."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.parity.harness import make_params

# --- transformations outside the contract suite: jit once, dtypes kept, state of arrays ----

MIXED = make_params(0)  # float32 leaves and a bfloat16 one


TRANSFORMS = {
    "normalize": (gdx.normalize, lambda p: p, {}),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_jits_once_keeps_dtypes_and_state_is_arrays(name):
    make, grads_of, extra = TRANSFORMS[name]
    tx, traces = make(), []

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = tx.update(grads_of(params), state, params, **extra)
        return gdx.apply_updates(params, updates), state, updates

    params, state = MIXED, tx.init(MIXED)
    for _ in range(3):
        params, new_state, updates = step(params, state)
        assert jax.tree.structure(new_state) == jax.tree.structure(state)
        for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
            assert (
                isinstance(after, jax.Array) and before.dtype == after.dtype and before.shape == after.shape
            )
        state = new_state
    assert len(traces) == 1
    for update, param in zip(jax.tree.leaves(updates), jax.tree.leaves(MIXED)):
        assert update.dtype == param.dtype and update.shape == param.shape
        assert bool(jnp.all(jnp.isfinite(update.astype(jnp.float32))))


# --- normalize, split_real_and_imaginary ------------------------------------------------------


def test_normalize_gives_unit_global_norm():
    updates, _ = gdx.normalize().update(
        {"a": jnp.array([3.0]), "b": jnp.array([[4.0]])}, gdx.NormalizeState()
    )
    np.testing.assert_allclose(float(gdx.global_norm(updates)), 1.0, rtol=1e-6)
