"""AdEMAMix beyond optax parity: state dtypes under schedules (bad hyperparameters:
tests/optimizers/test_generic.py)."""

import jax
import jax.numpy as jnp

import gdx


def test_ademamix_schedules_keep_the_state_dtype():
    # optax turns a bfloat16 leaf's slow EMA into float32 under a float32 b3 schedule.
    warmup = lambda count: jnp.minimum(count.astype(jnp.float32) / 10, 1.0)  # noqa: E731
    tx = gdx.ademamix(
        0.01, b3=lambda count: 0.9 + 0.09 * warmup(count), alpha=lambda count: 5.0 * warmup(count)
    )
    params = {"w": jnp.ones(3, jnp.bfloat16)}
    state = tx.init(params)
    updates, new_state = tx.update(params, state, params)
    assert updates["w"].dtype == jnp.bfloat16
    for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        assert before.dtype == after.dtype
