"""The doctor on histories of real runs (full-batch SGD on the unstandardized logistic regression)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from gdx import diagnostics
from tests.diagnostics.problems import logistic_run


@pytest.mark.parametrize(
    ("learning_rate", "problem"),
    [(5.0, "diverging"), (2.0, "oscillating"), (0.5, "healthy"), (1e-3, "too_low")],
)
def test_names_the_learning_rate_problem_of_real_runs(learning_rate, problem):
    losses, grad_norms = logistic_run(learning_rate)
    for diagnosis in (diagnostics.doctor(losses), diagnostics.doctor(losses, grad_norms)):
        assert diagnosis.problem == problem, str(diagnosis)
        assert diagnosis.advice and diagnosis.evidence
        assert all(isinstance(value, float) for value in diagnosis.evidence.values())
        assert str(diagnosis).startswith(f"{problem}: ")
    if problem == "diverging":
        assert "10" in diagnosis.advice
    if problem == "oscillating":
        assert "2-3" in diagnosis.advice


def _sgd_history(loss_fn, x0, learning_rate, steps):
    tx = gdx.diagnostics.monitor(gdx.sgd(learning_rate))

    @jax.jit
    def run(x):
        def step(carry, _):
            x, state = carry
            loss, grads = jax.value_and_grad(loss_fn)(x)
            updates, state = tx.update(grads, state, x)
            return (gdx.apply_updates(x, updates), state), (loss, state.metrics["grad_norm"])

        return jax.lax.scan(step, (x, tx.init(x)), length=steps)[1]

    losses, norms = run(jnp.asarray(x0, jnp.float32))
    return np.asarray(losses), np.asarray(norms)


def test_exploding_gradients_and_non_finite_loss_of_a_real_run():
    # Gradient 4 x^3 of x^4 at x = 5 overshoots further each step: |x| 5 -> 20 -> 3e4 -> overflow.
    losses, norms = _sgd_history(lambda x: jnp.sum(x**4), [5.0], 0.1, 6)
    assert not np.isfinite(losses).all()
    assert diagnostics.doctor(losses, norms).problem == "exploding_gradients"
    assert "clip_by_global_norm" in diagnostics.doctor(losses, norms).advice
    assert diagnostics.doctor(losses).problem == "non_finite_loss"


def test_vanishing_gradients_of_a_saturated_unit():
    # sigmoid(w * 30) with w = 1 is saturated: the gradient is ~1e-12 and the loss cannot move.
    losses, norms = _sgd_history(lambda w: jnp.sum(jnp.square(jax.nn.sigmoid(30.0 * w))), [1.0], 0.1, 50)
    assert diagnostics.doctor(losses, norms).problem == "vanishing_gradients"
    assert diagnostics.doctor(losses).problem == "too_low"


def test_rejects_too_short_histories():
    with pytest.raises(ValueError, match="at least 4"):
        diagnostics.doctor([1.0, 0.5])
