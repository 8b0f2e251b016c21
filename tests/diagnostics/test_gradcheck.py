from collections.abc import Callable

import jax
import jax.numpy as jnp
import pytest

from gdx import diagnostics


@jax.custom_vjp
def wrong_square(x):
    return x * x


def _wrong_square_fwd(x):
    return x * x, x


def _wrong_square_bwd(x, cotangent):
    return (3.0 * x * cotangent,)  # deliberately wrong: d(x^2)/dx is 2x


wrong_square.defvjp(_wrong_square_fwd, _wrong_square_bwd)

PARAMS = {
    "good": jnp.array([0.5, -1.0, 2.0], jnp.float32),
    "bad": jnp.array([[0.3, 1.2], [-0.7, 0.9]], jnp.float32),
}
DATA = jnp.array([1.0, 2.0, -1.0], jnp.float32)


def loss(params, data, square: Callable[[jax.Array], jax.Array] = wrong_square):
    return jnp.sum(jnp.tanh(params["good"] * data)) + jnp.sum(square(params["bad"]))


def test_correct_gradient_passes_in_float64():
    report = diagnostics.check_grads(lambda p, d: loss(p, d, square=jnp.square), PARAMS, DATA)
    assert report.ok, str(report)
    assert [leaf.path for leaf in report.leaves] == ["['bad']", "['good']"]
    assert all(leaf.relative_error < 1e-7 for leaf in report.leaves)
    assert "gradient check OK" in str(report)


def test_wrong_custom_vjp_is_caught_on_its_leaf_only():
    report = diagnostics.check_grads(loss, PARAMS, DATA)
    assert not report.ok
    by_path = {leaf.path: leaf for leaf in report.leaves}
    assert by_path["['good']"].relative_error < 1e-7
    assert by_path["['bad']"].relative_error == pytest.approx(1 / 3, rel=1e-3)  # |3x - 2x| / |3x|
    assert report.worst is by_path["['bad']"]
    assert "FAILED" in str(report) and "!! ['bad']" in str(report)
    with pytest.raises(diagnostics.GradientCheckError, match="bad"):
        diagnostics.check_grads(loss, PARAMS, DATA, raise_on_failure=True)
    with pytest.raises(ValueError, match="eps"):
        diagnostics.check_grads(loss, PARAMS, DATA, eps=0.0)
