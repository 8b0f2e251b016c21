"""`master_weights` and `quantized_state` around every optimizer of the contract, under jit.

The contract's quadratic, 300 steps as one `lax.scan`, each optimizer at the learning
rate the contract picked for it (300 plain steps cut the loss 100x there): wrapped,
the loss must still drop 100x.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import gdx
from gdx import precision
from tests.test_contract import PLAIN_CASES as CASES
from tests.test_contract import PLAIN_IDS as IDS
from tests.test_contract import quadratic_loss, quadratic_params

# Documented in `quantized_state`: state holding a copy of the params (prodigy's params0,
# mechanize's x0) or a cancelling difference (centered rmsprop's nu - mu**2) cannot live in
# 8 bits. Measured with every leaf quantized: prodigy's loss stays at 33.1 (its step-size
# estimate never grows), mechanize ends at 0.6, centered rmsprop at 4.7.
NOT_QUANTIZABLE = {"prodigy", "mechanize_adam", "rmsprop_centered"}
# ... unless the copy of the params is named in `skip_fields` (measured: prodigy 1.4e-11,
# mechanize 2.2e-5, from 33.1).
PARAM_COPIES = {"prodigy": ("params0",), "mechanize_adam": ("x0",)}


def loss32(params):
    """The quadratic on float32 copies: bfloat16 params get bfloat16 grads."""
    return quadratic_loss(jax.tree.map(lambda x: x.astype(jnp.float32), params))


def final_loss(tx, params, steps=300):
    def body(carry, _):
        params, state = carry
        updates, state = tx.update(jax.grad(loss32)(params), state, params)
        return (gdx.apply_updates(params, updates), state), None

    run = jax.jit(lambda p: jax.lax.scan(body, (p, tx.init(p)), None, length=steps)[0][0])
    final = run(params)
    assert jax.tree.map(lambda x: x.dtype, final) == jax.tree.map(lambda x: x.dtype, params)
    return float(loss32(final))


@pytest.mark.parametrize("case", [c for c in CASES if c.name not in NOT_QUANTIZABLE], ids=lambda c: c.name)
def test_quantized_state_of_every_leaf_still_trains(case):
    start = float(quadratic_loss(quadratic_params()))
    tx = precision.quantized_state(case.make(case.quadratic_lr), min_size=1)  # even scalars
    assert final_loss(tx, quadratic_params()) < start / 100


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_master_weights_trains_bfloat16_params_like_float32(case):
    start = float(quadratic_loss(quadratic_params()))
    params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), quadratic_params())
    assert final_loss(precision.master_weights(case.make(case.quadratic_lr)), params) < start / 100


@pytest.mark.parametrize("name", sorted(PARAM_COPIES))
def test_quantized_state_with_skip_fields_trains_optimizers_that_copy_the_params(name):
    case = next(c for c in CASES if c.name == name)
    start = float(quadratic_loss(quadratic_params()))
    tx = precision.quantized_state(case.make(case.quadratic_lr), min_size=1, skip_fields=PARAM_COPIES[name])
    assert final_loss(tx, quadratic_params()) < start / 100
    # The named field stays float32; the moments are quantized.
    state = tx.init(quadratic_params())
    for path, leaf in jax.tree_util.tree_flatten_with_path(
        state, is_leaf=lambda x: isinstance(x, precision.QuantizedArray)
    )[0]:
        names = {getattr(key, "name", getattr(key, "key", None)) for key in path}
        if names & set(PARAM_COPIES[name]):
            assert not isinstance(leaf, precision.QuantizedArray), path
    assert any(
        isinstance(leaf, precision.QuantizedArray)
        for leaf in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, precision.QuantizedArray))
    )


def test_skip_fields_must_be_a_sequence_of_names():
    with pytest.raises(TypeError, match="skip_fields"):
        precision.quantized_state(gdx.prodigy(), skip_fields="params0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="skip_fields"):
        precision.quantized_state(gdx.prodigy(), skip_fields=[0])  # type: ignore[list-item]
