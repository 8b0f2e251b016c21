"""Behaviour of adaptive_grad_clip and clip_by_block_rms beyond optax parity."""

import re

import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.optimizers.checks import params_f32

# --- hyperparameter validation --------------------------------------------------------------------

BAD_CASES = [
    ("adaptive_grad_clip", dict(clipping=0.0), "clipping"),
    ("adaptive_grad_clip", dict(clipping=0.1, eps=-1.0), "eps"),
    ("clip_by_block_rms", dict(threshold=-1.0), "threshold"),
]


@pytest.mark.parametrize(
    "name, kwargs, argument", BAD_CASES, ids=[f"{n}-{a}={list(k.values())[-1]}" for n, k, a in BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_the_argument(name, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{name}: {argument} must be"):
        getattr(gdx, name)(**kwargs)


# --- params and grads -------------------------------------------------------------------------------


# Transformations that keep per-leaf state (or check the grads against the params).
PER_LEAF = {
    "adaptive_grad_clip": lambda: gdx.adaptive_grad_clip(0.1),
}


@pytest.mark.parametrize("name", PER_LEAF)
def test_grads_with_another_structure_raise_naming_the_path(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    state = tx.init(params)
    grads = {"a": params["a"], "c": params["b"]}
    with pytest.raises(ValueError, match=re.escape("['c']")):
        tx.update(grads, state, params)


@pytest.mark.parametrize("name", [n for n in PER_LEAF if n != "zero_nans"])
def test_grads_with_another_shape_raise_naming_the_path(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    state = tx.init(params)
    grads = {"a": params["a"], "b": jnp.ones(5)}
    with pytest.raises(ValueError, match=re.escape("['b'] has shape (5,)")):
        tx.update(grads, state, params)


NEEDS_PARAMS = [
    "adaptive_grad_clip",
]


@pytest.mark.parametrize("name", NEEDS_PARAMS)
def test_missing_params_is_a_clear_error(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    with pytest.raises(ValueError, match="needs params"):
        tx.update(params, tx.init(params))


# --- adaptive and per-example clipping --------------------------------------------------------------------


def test_adaptive_grad_clip_needs_axis_for_rank_six():
    params = {"x": jnp.ones((1, 2, 1, 2, 1, 2))}
    tx = gdx.adaptive_grad_clip(0.1)
    with pytest.raises(ValueError, match="axis"):
        tx.update(params, tx.init(params), params)


def test_adaptive_grad_clip_bounds_the_unit_norms():
    params = {"w": jnp.ones((3, 2))}
    grads = {"w": jnp.array([[10.0, 0.01], [0.0, 0.0], [0.0, 0.0]])}
    tx = gdx.adaptive_grad_clip(0.1)
    updates, _ = tx.update(grads, tx.init(params), params)
    # Column norms of the params are sqrt(3): column 0 is clipped to 0.1 * sqrt(3), column 1 kept.
    np.testing.assert_allclose(jnp.linalg.norm(updates["w"], axis=0), [0.1 * 3**0.5, 0.01], rtol=1e-6)
