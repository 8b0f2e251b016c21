"""`split_real_and_imaginary`: jit once, dtypes kept, the inner optimizer on real and imaginary parts."""

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
    "split_real_and_imaginary": (lambda: gdx.split_real_and_imaginary(gdx.adam(0.1)), lambda p: p, {}),
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


def test_split_real_and_imaginary_is_the_inner_optimizer_on_real_and_imaginary_parts():
    z = jax.lax.complex(jnp.array([1.0, -2.0]), jnp.array([0.5, 3.0]))
    g = jax.lax.complex(jnp.array([0.1, 2.0]), jnp.array([-1.0, 0.3]))
    tx = gdx.split_real_and_imaginary(gdx.adam(0.1))
    updates, _ = tx.update({"z": g}, tx.init({"z": z}), {"z": z})
    reference = gdx.adam(0.1)
    split = {"z": (jnp.real(g), jnp.imag(g))}
    expected, _ = reference.update(split, reference.init(split))
    np.testing.assert_array_equal(jnp.real(updates["z"]), expected["z"][0])
    np.testing.assert_array_equal(jnp.imag(updates["z"]), expected["z"][1])
