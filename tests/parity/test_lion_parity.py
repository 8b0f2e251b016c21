"""lion against optax (params after every step, final state)."""

import jax
import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity


def decaying(count):
    return 0.1 * 0.99 ** count.astype(jnp.float32)


def not_a_vector(params):
    return jax.tree.map(lambda x: x.ndim > 1, params)


MASK = {
    "dense": {"kernel": True, "bias": False},
    "conv": (True,),
    "scale": False,
    "matrix": True,
    "embedding": True,
}


def check(name, *args, steps=100, params=None, **kwargs):
    assert_parity(
        getattr(gdx, name)(*args, **kwargs), getattr(optax, name)(*args, **kwargs), steps=steps, params=params
    )


def test_lion():
    check("lion", 1e-2)


def test_lion_non_default():
    check("lion", 3e-3, b1=0.8, b2=0.95, mu_dtype=jnp.bfloat16, weight_decay=0.1, mask=MASK, steps=50)


def test_lion_schedules():
    check("lion", decaying, weight_decay=decaying, mask=not_a_vector, steps=50)


def test_scale_by_lion():
    assert_parity(gdx.scale_by_lion(), optax.scale_by_lion(), steps=100)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(b1=0.8, b2=0.9, mu_dtype=jnp.bfloat16),
        dict(mode="smooth", smooth_beta=2.0),
        dict(mode="refined"),
    ],
    ids=["non-default", "smooth", "refined"],
)
def test_scale_by_lion_variants(kwargs):
    assert_parity(gdx.scale_by_lion(**kwargs), optax.scale_by_lion(**kwargs), steps=30)
