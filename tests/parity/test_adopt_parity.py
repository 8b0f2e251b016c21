"""ADOPT against `optax.contrib` 0.2.8.

Params are compared after every step and the final state leaf by leaf
(harness); one jitted scan per case and library.
"""

import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, decaying, make_params

CASES = {
    "adopt-defaults": (lambda lib: lib.adopt(0.01), 100),
    "adopt-nesterov-no-clipping-schedule": (
        lambda lib: lib.adopt(decaying, b1=0.8, b2=0.99, eps=1e-4, nesterov=True, use_clipping=False),
        50,
    ),
    "adopt-custom-clip": (lambda lib: lib.adopt(0.01, clip_value_fn=lambda step: 1.0 + step / 10.0), 30),
    "scale_by_adopt-mu-dtype": (lambda lib: lib.scale_by_adopt(b1=0.5, mu_dtype=jnp.bfloat16), 30),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_optax(case):
    make, steps, *bfloat16 = CASES[case]
    params = make_params(bfloat16=bfloat16[0] if bfloat16 else True)
    assert_parity(make(gdx), make(optax.contrib), steps=steps, params=params)
