"""`gdx.numerics` (safe norms, safe root mean squares) against optax, values and gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.calls import assert_trees_close, both
from tests.parity.harness import optax_promotion

NORM_CASES = [
    (dict(), 1e-6),
    (dict(ord=1), 4.0),
    (dict(ord=np.inf, axis=1), 1e-6),
    (dict(axis=1, keepdims=True), 1.5),
    (dict(ord=2, axis=0), 1e-6),
    (dict(ord="fro", axis=(0, 1), keepdims=True), 100.0),
]


def value_and_grad_sum(norm_fn, x, *args, **kwargs):
    value = norm_fn(x, *args, **kwargs)
    grad = jax.grad(lambda x: jnp.sum(norm_fn(x, *args, **kwargs)))(x)
    return value, grad


@pytest.mark.parametrize("kwargs, min_norm", NORM_CASES, ids=[f"{k}-{m}" for k, m in NORM_CASES])
def test_safe_norm(kwargs, min_norm):
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 3)), jnp.float32)
    x = x.at[1].set(0.0)  # a zero row: the floor applies along axis=1
    ours = jax.jit(lambda x: value_and_grad_sum(gdx.safe_norm, x, min_norm, **kwargs))(x)
    with optax_promotion():
        theirs = jax.jit(lambda x: value_and_grad_sum(optax.safe_norm, x, min_norm, **kwargs))(x)
    assert_trees_close(ours, theirs)


EUCLIDEAN_CASES = [
    (jnp.float32, None, False, 1e-6),
    (jnp.float32, 1, False, 1.5),
    (jnp.float32, (0, 1), True, 100.0),
    (jnp.bfloat16, 1, True, jnp.asarray(1.5, jnp.float32)),
    (jnp.complex64, 0, False, 0.5),
]


@pytest.mark.parametrize(
    "dtype, axis, keepdims, min_norm",
    EUCLIDEAN_CASES,
    ids=[f"{np.dtype(c[0])}-{c[1]}-{c[2]}" for c in EUCLIDEAN_CASES],
)
def test_euclidean_safe_norm_matches_optax_to_second_order(dtype, axis, keepdims, min_norm):
    # The Euclidean path states its derivative in a custom_jvp instead of optax's masked copy of
    # x: values, gradients in x and in min_norm, and Hessian-vector products must still agree.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3)) + (1j * rng.standard_normal((4, 3)) if dtype == jnp.complex64 else 0)
    x = jnp.asarray(x, dtype).at[1].set(0).at[2].multiply(0.1)  # a zero row, a row under the floor
    v = jnp.asarray(rng.standard_normal((4, 3)), x.real.dtype).astype(dtype)

    def derivatives(norm_fn):
        total = lambda x, m: jnp.sum(norm_fn(x, m, axis=axis, keepdims=keepdims)).real.astype(jnp.float32)
        grad_x = jax.grad(total)(x, min_norm)
        grad_min = jax.grad(total, argnums=1)(x, jnp.asarray(min_norm, jnp.float32))
        hvp = jax.jvp(lambda x: jax.grad(total)(x, min_norm), (x,), (v,))[1]
        return norm_fn(x, min_norm, axis=axis, keepdims=keepdims), grad_x, grad_min, hvp

    ours = jax.jit(lambda: derivatives(gdx.safe_norm))()
    with optax_promotion():
        theirs = jax.jit(lambda: derivatives(optax.safe_norm))()
    assert_trees_close(ours, theirs)
    assert np.all(np.isfinite(np.asarray(ours[1], np.complex64)))


def test_fast_euclidean_norm_reduces_x_once_and_safe_norm_is_optax_formulation():
    # The point of floored_l2_norm's custom_jvp (the opt-in `fast_norm=True` of the trust
    # ratio): optax reduces x, builds where(floor, 1, x) at x's size and reduces that again.
    # floored_l2_norm's forward pass has one reduction and no full-size select. safe_norm, the
    # default everywhere, is optax's formulation (two reductions), for optax's bits.
    def equations(jaxpr):  # including those inside custom_jvp_call and other sub-jaxprs
        for eqn in jaxpr.eqns:
            yield eqn
            for param in eqn.params.values():
                inner = getattr(param, "jaxpr", param)
                if hasattr(inner, "eqns"):
                    yield from equations(inner)

    def reductions(norm):
        return [e.primitive.name for e in equations(jax.make_jaxpr(norm)(x).jaxpr)].count("reduce_sum")

    x = jnp.ones((64, 32))
    for norm in (
        lambda x: gdx.numerics.floored_l2_norm(x, 1e-3),
        lambda x: gdx.numerics.floored_l2_norm(x, 1e-3, 1),
    ):
        eqns = list(equations(jax.make_jaxpr(norm)(x).jaxpr))
        assert [e.primitive.name for e in eqns].count("reduce_sum") == 1
        assert not [e for e in eqns if e.primitive.name == "select_n" and e.outvars[0].aval.size >= x.size]
    assert reductions(lambda x: optax.safe_norm(x, 1e-3)) == 2  # the test sees the difference
    assert reductions(lambda x: gdx.safe_norm(x, 1e-3)) == 2


def test_safe_norm_and_rms_gradients_are_zero_not_nan_at_zero():
    grad = jax.grad(lambda x: gdx.safe_norm(x, 1e-6))(jnp.zeros(3))
    np.testing.assert_array_equal(grad, np.zeros(3))
    grad = jax.grad(lambda x: gdx.safe_root_mean_squares(x, 1e-6))(jnp.zeros(3))
    np.testing.assert_array_equal(grad, np.zeros(3))


@pytest.mark.parametrize(
    "min_rms, dtype",
    [
        (1e-6, jnp.float32),
        (2.0, jnp.float32),
        (jnp.asarray(0.5, jnp.float32), jnp.bfloat16),
        (0.1, jnp.complex64),
    ],
    ids=["tiny-f32", "2-f32", "array-bf16", "complex"],
)
def test_safe_root_mean_squares(min_rms, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 2)) + (1j * rng.standard_normal((5, 2)) if dtype == jnp.complex64 else 0)
    x = jnp.asarray(x, dtype)
    if dtype == jnp.float32:
        ours = jax.jit(lambda x: value_and_grad_sum(gdx.safe_root_mean_squares, x, min_rms))(x)
        with optax_promotion():
            theirs = jax.jit(lambda x: value_and_grad_sum(optax.safe_root_mean_squares, x, min_rms))(x)
    else:
        ours, theirs = both("safe_root_mean_squares", x, min_rms)
    assert_trees_close(ours, theirs)
