"""Muon against `optax.contrib` 0.2.8.

Params are compared after every step and the final state leaf by leaf
(harness). The harness params have 2-D leaves (Muon), a vector, a scalar and
a 3-D leaf (AdamW fallback unless dimension numbers make it a stack of
matrices) and a bfloat16 matrix. One jitted scan per case and library.
"""

from typing import Any

import jax
import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, decaying, make_params


def dimension_numbers(library):
    """Muon on the matrices and on the 3-D leaf as a stack of 3x4 matrices; AdamW elsewhere."""
    numbers = library.MuonDimensionNumbers
    return {
        "dense": {"kernel": numbers(), "bias": None},
        "conv": (numbers(reduction_axis=1, output_axis=2),),
        "scale": None,
        "matrix": numbers(0, 1),
        "embedding": None,
    }


def flattened_conv_numbers(library):
    """The 3-D leaf as one (2*3) x 4 matrix (reduction axes given as a tuple); bf16 matrix on Muon."""
    numbers = library.MuonDimensionNumbers
    return {
        "dense": None,
        "conv": (numbers(reduction_axis=(0, 1), output_axis=-1),),
        "scale": None,
        "matrix": numbers(1, 0),
        "embedding": numbers(),
    }


DECAY_MASK = {
    "dense": {"kernel": True, "bias": False},
    "conv": (False,),
    "scale": False,
    "matrix": False,
    "embedding": True,
}


MUON_CASES = {
    "defaults": (lambda lib: dict(learning_rate=0.01), 60),
    "callable-dims-stacked-3d-weight-decay": (
        lambda lib: dict(
            learning_rate=decaying,
            ns_steps=3,
            beta=0.9,
            weight_decay=0.1,
            nesterov=False,
            adam_b1=0.8,
            adam_b2=0.99,
            adam_eps_root=1e-8,
            adam_weight_decay=0.01,
            adam_learning_rate=0.003,
            muon_weight_dimension_numbers=lambda params: dimension_numbers(lib),
            consistent_rms=0.2,
        ),
        40,
    ),
    "pytree-dims-aol-adaptive-dion-bf16-momentum": (
        lambda lib: dict(
            learning_rate=0.02,
            ns_coeffs="dion",
            ns_steps=5,
            eps=1e-6,
            preconditioning="aol",
            adaptive=True,
            mu_dtype=jnp.bfloat16,
            muon_weight_dimension_numbers=flattened_conv_numbers(lib),
        ),
        30,
    ),
    "schatten-per-step-coeffs-mask": (
        lambda lib: dict(
            learning_rate=0.01,
            ns_coeffs=((3.0, -3.2, 1.2), (3.4445, -4.7750, 2.0315)),
            ns_steps=2,
            weight_decay=0.05,
            weight_decay_mask=lambda params: {**DECAY_MASK, "matrix": True},
            preconditioning="schatten",
        ),
        30,
    ),
}


@pytest.mark.parametrize("case", list(MUON_CASES))
def test_muon_matches_optax(case):
    kwargs, steps = MUON_CASES[case]
    assert_parity(gdx.muon(**kwargs(gdx)), optax.contrib.muon(**kwargs(optax.contrib)), steps=steps)


def test_scale_by_muon_spectral_matches_optax_on_matrices():
    params = {"a": make_params()["matrix"], "b": (make_params(1)["dense"]["kernel"],)}
    kwargs: dict[str, Any] = dict(ns_steps=4, beta=0.8, preconditioning="spectral", nesterov=False)
    # optax's scale_by_muon needs the dimension numbers spelled out (its None default fails).
    theirs = optax.contrib.scale_by_muon(
        **kwargs,
        weight_dimension_numbers=jax.tree.map(lambda _: optax.contrib.MuonDimensionNumbers(), params),
    )
    assert_parity(
        gdx.chain(gdx.scale_by_muon(**kwargs), gdx.scale(-0.01)),
        optax.chain(theirs, optax.scale(-0.01)),
        steps=30,
        params=params,
    )
