import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from gdx import diagnostics
from tests.diagnostics.problems import logistic_data, logistic_loss, logistic_params

CURVATURE = 4.0  # gradient descent on this quadratic is best at lr 1/4 and diverges above 2/4


def quadratic(params):
    return 0.5 * CURVATURE * jnp.sum(jnp.square(params["x"]))


QUADRATIC_PARAMS = {"x": jnp.ones(3, jnp.float32)}


def test_range_test_on_a_quadratic_suggests_a_stable_learning_rate(tmp_path):
    result = diagnostics.lr_find(quadratic, QUADRATIC_PARAMS, min_lr=1e-4, max_lr=10.0, num_steps=100)
    assert result.mode == "range_test"
    assert 0.01 <= result.suggestion < 2 / CURVATURE
    assert result.lrs.shape == result.losses.shape == result.smoothed.shape
    assert result.lrs[0] == pytest.approx(1e-4) and np.all(np.diff(result.lrs) > 0)
    assert len(result.lrs) < 100  # stopped when the loss exploded
    assert result.plot(tmp_path / "range.png").stat().st_size > 0


def test_range_test_on_logistic_regression_finds_the_good_range():
    features, labels = logistic_data()
    result = diagnostics.lr_find(
        logistic_loss, logistic_params(), (features, labels), min_lr=1e-4, max_lr=100.0, num_steps=100
    )
    # lr 0.5 descends smoothly, lr 5 diverges, lr 1e-3 barely moves (see examples/learning_rate_effect.py).
    assert 0.1 <= result.suggestion <= 1.5


def test_parallel_mode_equals_separate_runs_and_picks_a_good_lr(tmp_path):
    features, labels = logistic_data()
    result = diagnostics.lr_find(
        logistic_loss,
        logistic_params(),
        (features, labels),
        min_lr=1e-3,
        max_lr=10.0,
        num_steps=60,
        mode="parallel",
        num_lrs=5,
    )
    assert result.losses.shape == (5, 60)
    assert 0.3 <= result.suggestion <= 1.5
    tx = gdx.sgd(float(result.lrs[1]))

    @jax.jit
    def separate(params):
        def step(carry, _):
            params, state = carry
            loss, grads = jax.value_and_grad(logistic_loss)(params, features, labels)
            updates, state = tx.update(grads, state, params)
            return (gdx.apply_updates(params, updates), state), loss

        return jax.lax.scan(step, (params, tx.init(params)), length=60)[1]

    np.testing.assert_allclose(result.losses[1], np.asarray(separate(logistic_params())), rtol=1e-5)
    assert result.plot(tmp_path / "parallel.png").stat().st_size > 0


def test_stacked_batches_and_adam_and_bad_arguments():
    features, labels = logistic_data()
    batches = (features[:160].reshape(20, 8, 5), labels[:160].reshape(20, 8))
    result = diagnostics.lr_find(
        logistic_loss,
        logistic_params(),
        batches,
        stacked_batches=True,
        tx_factory=gdx.adam,
        min_lr=1e-4,
        max_lr=1.0,
        num_steps=20,
    )
    assert np.isfinite(result.suggestion) and 1e-4 <= result.suggestion <= 1.0
    with pytest.raises(ValueError, match="min_lr"):
        diagnostics.lr_find(quadratic, QUADRATIC_PARAMS, min_lr=1.0, max_lr=0.1)
    with pytest.raises(ValueError, match="mode"):
        diagnostics.lr_find(quadratic, QUADRATIC_PARAMS, mode="grid")
