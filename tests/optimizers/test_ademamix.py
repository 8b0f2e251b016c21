"""AdEMAMix beyond optax parity: validation and state dtypes under schedules."""

import jax
import jax.numpy as jnp
import pytest

import gdx


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: gdx.ademamix(0.01, b3=1.0), "b3"),
        (lambda: gdx.ademamix(0.01, alpha=float("inf")), "alpha"),
        (lambda: gdx.simplified_ademamix(0.01, b1=-0.1), "b1"),
    ],
)
def test_bad_hyperparameters_raise_naming_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


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
