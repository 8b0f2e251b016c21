"""Behaviour of the optimistic optimizers beyond optax parity: arguments that cannot be schedules,
the first optimistic step, and optimistic_adam's deprecation.

The generic checks (validation, non-float params, mismatched grads, complex params) run in
tests/optimizers/test_generic.py; convergence, jit and dtypes in tests/test_contract.py.
"""

import jax.numpy as jnp
import numpy as np
import pytest

import gdx

pytestmark = pytest.mark.filterwarnings("ignore:`optimistic_adam` is deprecated:DeprecationWarning")


def decaying(count):
    return 1e-2 * 0.99 ** count.astype(jnp.float32)


def test_arguments_that_cannot_be_schedules_say_so():
    with pytest.raises(TypeError, match="rprop: learning_rate must be a number, not a schedule"):
        gdx.rprop(decaying)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="novograd: weight_decay must be a number"):
        gdx.novograd(1e-2, weight_decay=decaying)
    with pytest.raises(TypeError, match="optimistic_gradient_descent: alpha must be a number"):
        gdx.optimistic_gradient_descent(1e-2, alpha=decaying)
    # As optax: ValueError pointing to optimistic_adam_v2.
    with pytest.raises(ValueError, match="optimistic_adam_v2"):
        gdx.optimistic_adam(decaying)  # type: ignore[arg-type]


def test_optimistic_first_step_is_alpha_times_the_gradient():
    tx = gdx.scale_by_optimistic_gradient(alpha=0.5, beta=2.0)
    grads = {"w": jnp.array([1.0, -2.0])}
    updates, state = tx.update(grads, tx.init(grads))
    np.testing.assert_allclose(updates["w"], [0.5, -1.0])
    updates, _ = tx.update({"w": jnp.array([2.0, 0.0])}, state)
    np.testing.assert_allclose(updates["w"], [2.5 * 2.0 - 2.0 * 1.0, 0.0 + 2.0 * 2.0])


def test_optimistic_adam_is_deprecated_like_optax():
    with pytest.warns(DeprecationWarning, match="optimistic_adam_v2"):
        gdx.optimistic_adam(1e-2)
