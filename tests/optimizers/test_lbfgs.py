"""Behaviour of L-BFGS and the line searches beyond optax parity.

Convergence, clear errors (missing objective arguments, a state without a line search; bad
hyperparameters are in tests/optimizers/test_generic.py), jit without recompilation, dtypes with
bfloat16 leaves, vmap, and the verbose diagnostics.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx


def rosenbrock(params):
    x = params["x"]
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


CURVATURE = {"w": jnp.array([1.0, 10.0, 100.0]), "b": jnp.array(3.0)}


def quadratic(params):
    return sum(0.5 * jnp.sum(CURVATURE[k] * (params[k].astype(jnp.float32) - 0.5) ** 2) for k in params)


def quadratic_params(b_dtype=jnp.float32):
    return {"w": jnp.array([1.0, -2.0, 0.5], jnp.float32), "b": jnp.array(0.3, b_dtype)}


def make_step(solver, objective, traces=None):
    value_and_grad = gdx.value_and_grad_from_state(objective)

    def step(params, state):
        if traces is not None:
            traces.append(1)  # runs only while tracing
        value, grad = value_and_grad(params, state=state)
        updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=objective)
        return gdx.apply_updates(params, updates), state, value

    return jax.jit(step, donate_argnums=(0, 1))


def test_lbfgs_reaches_the_rosenbrock_minimum_without_recompiling():
    traces = []
    solver = gdx.lbfgs()
    step = make_step(solver, rosenbrock, traces)
    params = {"x": jnp.array([-1.2, 1.0], jnp.float32)}
    state = solver.init(params)
    iterations = 0
    while iterations < 100 and float(rosenbrock(params)) >= 1e-8:
        params, state, _ = step(params, state)
        iterations += 1
    assert float(rosenbrock(params)) < 1e-8, f"f = {float(rosenbrock(params))} after {iterations} iterations"
    np.testing.assert_allclose(params["x"], [1.0, 1.0], atol=1e-4)
    assert len(traces) == 1


MISSING_CASES = [
    ("zoom", lambda: gdx.scale_by_zoom_linesearch(max_linesearch_steps=5), missing)
    for missing in ("value", "grad", "value_fn")
]
MISSING_CASES += [
    ("backtracking", lambda: gdx.scale_by_backtracking_linesearch(max_backtracking_steps=5), missing)
    for missing in ("value", "grad", "value_fn")
]
MISSING_CASES += [("lbfgs", lambda: gdx.lbfgs(), "value_fn")]  # each eager lbfgs step compiles its scans


@pytest.mark.parametrize(
    "make, missing", [c[1:] for c in MISSING_CASES], ids=[f"{c[0]}-{c[2]}" for c in MISSING_CASES]
)
def test_a_line_search_without_its_objective_names_the_missing_argument(make, missing):
    solver = make()
    params = quadratic_params()
    state = solver.init(params)
    value, grad = jax.value_and_grad(quadratic)(params)
    kwargs = dict(value=value, grad=grad, value_fn=quadratic)
    del kwargs[missing]
    with pytest.raises(TypeError, match=rf"missing the keyword argument\(s\) {missing}\b"):
        solver.update(grad, state, params, **kwargs)
    with pytest.raises(ValueError, match="params"):
        solver.update(grad, state, value=value, grad=grad, value_fn=quadratic)


def test_an_extra_argument_the_objective_does_not_take_is_a_type_error():
    solver = gdx.lbfgs()
    params = quadratic_params()
    value, grad = jax.value_and_grad(quadratic)(params)
    with pytest.raises(TypeError, match="batch"):
        solver.update(grad, solver.init(params), params, value=value, grad=grad, value_fn=quadratic, batch=1)


def test_lbfgs_without_a_line_search_needs_no_objective():
    solver = gdx.lbfgs(learning_rate=0.1, linesearch=None)
    params = quadratic_params()
    updates, _ = solver.update(jax.grad(quadratic)(params), solver.init(params), params)
    assert jax.tree.structure(updates) == jax.tree.structure(params)


def test_accepted_edge_values():
    gdx.scale_by_zoom_linesearch(5, curv_rtol=math.inf, approx_dec_rtol=None, slope_rtol=0.0)
    gdx.scale_by_backtracking_linesearch(0, increase_factor=math.inf)
    with pytest.raises(TypeError, match="linesearch"):
        gdx.lbfgs(linesearch="zoom")  # type: ignore[arg-type]


def test_value_and_grad_from_state_needs_a_line_search_state_with_a_gradient():
    params = quadratic_params()
    value_and_grad = gdx.value_and_grad_from_state(quadratic)
    with pytest.raises(ValueError, match="not found in the state"):
        value_and_grad(params, state=gdx.sgd(0.1).init(params))
    no_grad = gdx.chain(gdx.sgd(1.0), gdx.scale_by_backtracking_linesearch(5))
    with pytest.raises(ValueError, match="store_grad=True"):
        value_and_grad(params, state=no_grad.init(params))
    # Two line searches: KeyError, as optax's (its tree_get finds the key twice).
    two = gdx.chain(gdx.scale_by_backtracking_linesearch(5), gdx.scale_by_backtracking_linesearch(5))
    with pytest.raises(KeyError, match="2 line-search states"):
        value_and_grad(params, state=two.init(params))


def test_value_and_grad_from_state_reuses_the_last_evaluation():
    solver = gdx.lbfgs()
    step = make_step(solver, quadratic)
    params = quadratic_params()
    state = solver.init(params)
    first_value, first_grad = gdx.value_and_grad_from_state(quadratic)(params, state=state)
    np.testing.assert_array_equal(first_value, quadratic(params))  # the initial state holds value inf
    params, state, _ = step(params, state)
    value, grad = gdx.value_and_grad_from_state(quadratic)(params, state=state)
    line_search_state = state[-1]
    np.testing.assert_array_equal(value, line_search_state.value)
    for got, stored in zip(jax.tree.leaves(grad), jax.tree.leaves(line_search_state.grad)):
        np.testing.assert_array_equal(got, stored)
    np.testing.assert_allclose(value, quadratic(params), rtol=1e-6)


def test_bfloat16_leaves_keep_their_dtypes_under_strict_promotion():
    solver = gdx.lbfgs()
    step = make_step(solver, quadratic)
    params = {"b": jnp.array(0.3, jnp.bfloat16), **{"w": quadratic_params()["w"]}}
    state = solver.init(params)
    initial = float(quadratic(params))
    state_dtypes = [x.dtype for x in jax.tree.leaves(state)]
    for _ in range(10):
        params, state, _ = step(params, state)
    assert params["b"].dtype == jnp.bfloat16 and params["w"].dtype == jnp.float32
    assert [x.dtype for x in jax.tree.leaves(state)] == state_dtypes
    # The line search's scalars are at least float32 (optax would keep them in the first leaf's bfloat16).
    assert state[-1].value.dtype == jnp.float32
    assert float(quadratic(params)) < 1e-3 * initial


def test_the_state_is_a_pytree_of_arrays_with_optax_field_names():
    solver = gdx.lbfgs(memory_size=4)
    params = quadratic_params()
    state = solver.init(params)
    assert isinstance(state[0], gdx.ScaleByLBFGSState) and isinstance(
        state[-1], gdx.ScaleByZoomLinesearchState
    )
    assert state[0]._fields == (
        "count",
        "params",
        "updates",
        "diff_params_memory",
        "diff_updates_memory",
        "weights_memory",
    )
    assert state[0].diff_params_memory["w"].shape == (4, 3)
    assert isinstance(state[-1].info, gdx.ZoomLinesearchInfo)
    assert all(isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(state))
    with pytest.raises(TypeError, match="step"):
        solver.init({"w": jnp.ones(3), "step": jnp.zeros(2, jnp.int32)})


def test_vmap_over_a_batch_of_problems_equals_per_problem_runs():
    solver = gdx.lbfgs()
    step = make_step(solver, quadratic)
    batch = {"w": jnp.arange(9.0, dtype=jnp.float32).reshape(3, 3) / 4 - 1.0, "b": jnp.linspace(-1.0, 1.0, 3)}

    def three_steps(params):
        state = solver.init(params)
        for _ in range(3):
            params, state, _ = step(params, state)
        return params

    batched = jax.jit(jax.vmap(three_steps))(batch)
    for i in range(3):
        single = three_steps(jax.tree.map(lambda x, i=i: x[i], batch))
        for got, expected in zip(jax.tree.leaves(batched), jax.tree.leaves(single)):
            np.testing.assert_allclose(got[i], expected, rtol=1e-5, atol=1e-6)


def test_verbose_zoom_reports_an_ascent_direction(capfd):
    solver = gdx.chain(gdx.scale(1.0), gdx.scale_by_zoom_linesearch(3, verbose=True))  # an ascent direction
    params = quadratic_params()
    value, grad = jax.value_and_grad(quadratic)(params)
    updates, state = solver.update(
        grad, solver.init(params), params, value=value, grad=grad, value_fn=quadratic
    )
    jax.effects_barrier()
    assert "not a descent direction" in capfd.readouterr().out
    assert float(state[-1].info.decrease_error) > 0
    assert float(state[-1].learning_rate) == 0.0 or float(quadratic(gdx.apply_updates(params, updates))) >= 0


def test_backtracking_does_not_move_when_every_point_is_nan():
    solver = gdx.chain(gdx.sgd(1.0), gdx.scale_by_backtracking_linesearch(3))
    params = quadratic_params()
    value, grad = jax.value_and_grad(quadratic)(params)
    nan_objective = lambda p: quadratic(p) * jnp.nan  # noqa: E731
    updates, state = solver.update(
        grad, solver.init(params), params, value=value, grad=grad, value_fn=nan_objective
    )
    assert float(state[-1].learning_rate) == 0.0
    assert all(bool(jnp.all(u == 0)) for u in jax.tree.leaves(updates))
