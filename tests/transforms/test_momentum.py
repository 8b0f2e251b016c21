"""`trace` and `ema`: the rules, accumulator dtypes, bfloat16 state under scan, bad grads
(bad hyperparameters: tests/optimizers/test_generic.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.transforms.toy import GRADS, PARAMS, run

# --- trace and ema ---------------------------------------------------------------------------


def test_trace_nesterov_differs_and_matches_the_rule():
    plain, _ = run(gdx.trace(0.5), steps=2)
    nesterov, _ = run(gdx.trace(0.5, nesterov=True), steps=2)
    g = GRADS["b"]
    np.testing.assert_allclose(plain["b"], g + 0.5 * g)  # t2 = g + 0.5 * t1, t1 = g
    np.testing.assert_allclose(nesterov["b"], g + 0.5 * (g + 0.5 * g))
    assert not np.allclose(plain["b"], nesterov["b"])


def test_ema_debiased_constant_input_is_the_input():
    updates, state = run(gdx.ema(0.9), steps=5)
    np.testing.assert_allclose(updates["b"], GRADS["b"], rtol=1e-6)
    assert state.count.dtype == jnp.int32 and int(state.count) == 5


def test_accumulator_dtype_stays_put_and_updates_keep_grads_dtype():
    for tx, field in [
        (gdx.trace(0.9, accumulator_dtype=jnp.bfloat16), "trace"),
        (gdx.ema(0.9, accumulator_dtype=jnp.bfloat16), "ema"),
        (gdx.scale_by_lion(mu_dtype=jnp.bfloat16), "mu"),
    ]:
        updates, state = run(tx)
        assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(getattr(state, field)))
        assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(updates))


def test_bfloat16_state_survives_float32_hyperparameters_under_scan():
    # optax's trace would turn this bfloat16 state into float32 and break lax.scan.
    params = {"w": jnp.ones((4,), jnp.bfloat16)}
    tx = gdx.lars(0.1, weight_decay=lambda count: 1e-2 * 0.9 ** count.astype(jnp.float32))

    def body(carry, _):
        params, state = carry
        updates, state = tx.update({"w": jnp.full((4,), 0.5, jnp.bfloat16)}, state, params)
        return (gdx.apply_updates(params, updates), state), None

    (params, state), _ = jax.jit(lambda c: jax.lax.scan(body, c, length=3))((params, tx.init(params)))
    assert params["w"].dtype == jnp.bfloat16
    assert state[3].trace["w"].dtype == jnp.bfloat16


@pytest.mark.parametrize(
    "tx, who",
    [
        (gdx.trace(0.9), "trace"),
        (gdx.ema(0.9), "ema"),
        (gdx.scale_by_lion(), "scale_by_lion"),
        (gdx.sgd(0.1, momentum=0.9), "trace"),
    ],
)
def test_grads_with_another_structure_raise_naming_the_path(tx, who):
    state = tx.init(PARAMS)
    with pytest.raises(ValueError, match=rf"{who}.*\['w'\]"):
        tx.update({"b": GRADS["b"], "v": GRADS["w"]}, state, PARAMS)
