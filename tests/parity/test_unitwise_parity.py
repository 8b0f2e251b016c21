"""`gdx.transforms.unitwise_norm` / `unitwise_clip` against optax's, bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import assert_bit_identical, optax_promotion

RNG = np.random.default_rng(0)


def normal(shape, dtype=jnp.float32):
    return jnp.asarray(RNG.standard_normal(shape, dtype=np.float32), dtype)


NORM_CASES = [
    (normal(()), None),
    (normal((7,)), None),
    (normal((1, 7, 1)), None),  # squeezes to a vector: one unit
    (normal((4, 3)), None),
    (normal((2, 4, 3)), None),
    (normal((3, 3, 2, 4)), None),
    (normal((2, 3, 3, 2, 4)), None),
    (normal((4, 3), jnp.bfloat16), None),
    (jax.lax.complex(normal((4, 3)), normal((4, 3))), None),
    (normal((4, 3)), 1),
    (normal((2, 3, 4)), (0, 2)),
    (normal((2, 3, 2, 2, 2, 3)), (0, 1, 2, 3, 4)),
]


@pytest.mark.parametrize("x, axis", NORM_CASES, ids=lambda v: str(getattr(v, "shape", v)))
def test_unitwise_norm_matches_optax(x, axis):
    got = gdx.transforms.unitwise_norm(x, axis=axis)
    with optax_promotion():
        expected = optax.transforms.unitwise_norm(x, axis=axis)
    assert_bit_identical(got, expected, f"unitwise_norm{x.shape}")


def test_unitwise_norm_rejects_rank_6_without_axis():
    x = normal((2, 2, 2, 2, 2, 2))
    with pytest.raises(ValueError, match="unitwise_norm.*axis="):
        gdx.unitwise_norm(x)
    with pytest.raises(ValueError), optax_promotion():
        optax.transforms.unitwise_norm(x)


@pytest.mark.parametrize(
    "grad_dtype, norm_dtype, div_eps",
    [
        (jnp.float32, jnp.float32, 1e-6),
        (jnp.float32, jnp.float32, 0.5),
        (jnp.bfloat16, jnp.bfloat16, 1e-6),
        (jnp.bfloat16, jnp.float32, 1e-6),  # optax promotes the result to float32; so does gdx
        (jnp.float32, jnp.bfloat16, 1e-3),
    ],
)
@pytest.mark.parametrize("jit", [False, True])
def test_unitwise_clip_matches_optax(grad_dtype, norm_dtype, div_eps, jit):
    grad = normal((4, 3), grad_dtype)
    with optax_promotion():
        g_norm = optax.transforms.unitwise_norm(grad).astype(norm_dtype)
    g_norm = g_norm.at[0, 0].set(0.0)  # a zero-norm entry: the division floor, never selected
    max_norm = jnp.asarray(RNG.uniform(0.0, 2.0, (4, 3)), norm_dtype)
    ours, theirs = gdx.transforms.unitwise_clip, optax.transforms.unitwise_clip
    if jit:
        ours, theirs = jax.jit(ours), jax.jit(theirs)
    got = ours(g_norm, max_norm, grad, div_eps)
    with optax_promotion():
        expected = theirs(g_norm, max_norm, grad, div_eps)
    assert_bit_identical(got, expected, "unitwise_clip")


def test_unitwise_clip_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="unitwise_clip.*one shape"):
        gdx.unitwise_clip(jnp.ones((3,)), jnp.ones((3,)), jnp.ones((2, 3)))


def test_top_level_and_transforms_names_are_one_object():
    assert gdx.unitwise_norm is gdx.transforms.unitwise_norm
    assert gdx.unitwise_clip is gdx.transforms.unitwise_clip
