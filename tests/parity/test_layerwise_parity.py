"""lamb and lars against optax (params after every step, final state)."""

import jax
import jax.numpy as jnp
import optax

import gdx
from tests.parity.harness import assert_parity, make_params


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


def test_lamb():
    check("lamb", 1e-2)


def test_lamb_non_default():
    check("lamb", 3e-3, b1=0.8, b2=0.99, eps=1e-4, eps_root=1e-8, weight_decay=0.1, mask=MASK, steps=50)


def test_lamb_schedule():
    check("lamb", decaying, weight_decay=0.01, steps=50)


def test_lars():
    check("lars", 0.5)


def test_lars_with_masks():
    check(
        "lars",
        0.5,
        weight_decay=0.01,
        weight_decay_mask=MASK,
        trust_coefficient=0.01,
        eps=1e-6,
        trust_ratio_mask=not_a_vector,
        momentum=0.8,
        nesterov=True,
        steps=50,
    )


def test_lars_schedule():
    check("lars", decaying, weight_decay=0.01, steps=50)


def test_lars_weight_decay_schedule():
    # float32 params only: optax's scheduled weight decay turns a bfloat16 leaf's
    # update into float32, and its trace state then changes dtype between steps,
    # which lax.scan rejects. gdx keeps both bfloat16 (tests/transforms).
    check("lars", 0.5, weight_decay=decaying, steps=50, params=make_params(0, bfloat16=False))
