"""Sophia and the Hutchinson estimator beyond optax parity: validation, obj_fn updates on a mixed
tree, the estimator on a diagonal Hessian, and the ill-conditioned quadratic."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from tests.parity.harness import make_params

BAD_HYPERPARAMETERS = [
    ("sophia", dict(learning_rate=0.1), "b1", 1.0),
    ("sophia", dict(learning_rate=0.1), "gamma", -0.01),
    ("sophia", dict(learning_rate=0.1), "clip_threshold", 0.0),
    ("sophia", dict(learning_rate=0.1), "update_interval", 0),
    ("sophia", dict(learning_rate=0.1, verbose=True), "print_win_rate_every_n_steps", 0),
]


@pytest.mark.parametrize(("name", "base", "argument", "value"), BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_are_rejected_naming_the_argument(name, base, argument, value):
    with pytest.raises(ValueError, match=rf"{name}: {argument} must be"):
        getattr(gdx, name)(**{**base, argument: value})


# --- transformations outside the contract suite: jit once, dtypes kept, state of arrays ----

MIXED = make_params(0)  # float32 leaves and a bfloat16 one


def objective(params):
    return sum(
        jnp.sum(0.5 * x.astype(jnp.float32) ** 2 + 0.1 * x.astype(jnp.float32) ** 4)
        for x in jax.tree.leaves(params)
    )


TRANSFORMS = {
    "sophia": (lambda: gdx.sophia(0.01, update_interval=2), lambda p: p, {"obj_fn": objective}),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_jits_once_keeps_dtypes_and_state_is_arrays(name):
    make, grads_of, extra = TRANSFORMS[name]
    tx, traces = make(), []

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = tx.update(grads_of(params), state, params, **extra)
        return gdx.apply_updates(params, updates), state, updates

    params, state = MIXED, tx.init(MIXED)
    for _ in range(3):
        params, new_state, updates = step(params, state)
        assert jax.tree.structure(new_state) == jax.tree.structure(state)
        for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
            assert (
                isinstance(after, jax.Array) and before.dtype == after.dtype and before.shape == after.shape
            )
        state = new_state
    assert len(traces) == 1
    for update, param in zip(jax.tree.leaves(updates), jax.tree.leaves(MIXED)):
        assert update.dtype == param.dtype and update.shape == param.shape
        assert bool(jnp.all(jnp.isfinite(update.astype(jnp.float32))))


# --- Sophia ----------------------------------------------------------------------------------


def test_hutchinson_is_exact_for_a_diagonal_hessian():
    # z * (H z) = diag(H) * z**2 = diag(H) for Rademacher z when H is diagonal.
    curvature = jnp.array([1.0, 10.0, 100.0])
    tx = gdx.hutchinson_estimator_diag_hessian(jax.random.PRNGKey(3))
    params = {"w": jnp.array([0.5, -1.0, 2.0])}
    estimate, state = tx.update(
        params, tx.init(params), params, obj_fn=lambda p: 0.5 * jnp.sum(curvature * p["w"] ** 2)
    )
    np.testing.assert_allclose(estimate["w"], curvature, rtol=1e-6)
    assert isinstance(state, gdx.HutchinsonState)
    with pytest.raises(ValueError, match="needs obj_fn"):
        tx.update(params, tx.init(params), params)


def test_sophia_needs_params_and_reduces_an_ill_conditioned_quadratic():
    curvature = {"w": jnp.array([1.0, 10.0, 100.0]), "b": jnp.array(3.0)}

    def loss(params):
        return sum(0.5 * jnp.sum(curvature[k] * params[k] ** 2) for k in params)

    tx = gdx.sophia(0.05, weight_decay=0.0)
    params = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array(0.3)}
    with pytest.raises(ValueError, match="sophia needs params"):
        tx.update(params, tx.init(params))

    @jax.jit
    def run(params):
        def body(carry, _):
            params, state = carry
            updates, state = tx.update(jax.grad(loss)(params), state, params, obj_fn=loss)
            return (gdx.apply_updates(params, updates), state), None

        return jax.lax.scan(body, (params, tx.init(params)), None, length=300)[0][0]

    assert float(loss(run(params))) < float(loss(params)) / 100
