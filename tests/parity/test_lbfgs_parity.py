"""L-BFGS and the line searches against optax on deterministic objectives.

The harness's random gradients do not apply (a line search evaluates the
objective), so each case runs the loop optax's docs show, with
`value_and_grad_from_state` (or data passed as extra arguments), as one
jitted `lax.scan` per library. Params, values and the whole state are compared
after every iteration at the float32 tolerances.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import TOLERANCES, optax_promotion


def rosenbrock(params):
    x = params["x"]
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _quadratic_problem(seed: int = 0):
    """A random convex quadratic 0.5 x'Ax - b'x over a mixed pytree of float32 leaves."""
    rng = np.random.default_rng(seed)
    params = {
        "dense": {"kernel": np.ones((3, 4)), "bias": np.zeros(5)},
        "scale": np.float32(2.0),
        "conv": (np.full((2, 2), -1.0),),
    }
    params = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), params)
    size = sum(x.size for x in jax.tree.leaves(params))
    factor = rng.standard_normal((size, size)).astype(np.float32)
    hessian = jnp.asarray(factor @ factor.T / size + 0.1 * np.eye(size, dtype=np.float32))
    target = jnp.asarray(rng.standard_normal(size).astype(np.float32))

    def quadratic(params):
        x = jnp.concatenate([jnp.ravel(leaf) for leaf in jax.tree.leaves(params)])
        return 0.5 * jnp.vdot(x, hessian @ x) - jnp.vdot(target, x)

    return params, quadratic


QUADRATIC_PARAMS, quadratic = _quadratic_problem()


def run(lib: Any, solver: Any, params: Any, objective: Callable[..., Any], steps: int) -> Any:
    """`steps` iterations of optax's documented loop; returns (params, value, state) per iteration."""
    value_and_grad = lib.value_and_grad_from_state(objective)

    def body(carry, _):
        params, state = carry
        value, grad = value_and_grad(params, state=state)
        updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=objective)
        params = lib.apply_updates(params, updates)
        return (params, state), (params, value, state)

    def loop(params):
        return jax.lax.scan(body, (params, solver.init(params)), None, length=steps)[1]

    return jax.jit(loop)(params)


def run_with_data(lib: Any, solver: Any, params: Any, xs: jax.Array, ys: jax.Array) -> Any:
    """The stochastic loop of optax's docs: fresh data each step, passed to `value_fn` as extra args."""

    def objective(params, x, y):
        return 0.5 * jnp.sum((x @ params["w"] + params["b"] - y) ** 2)

    def body(carry, batch):
        params, state = carry
        x, y = batch
        value, grad = jax.value_and_grad(objective)(params, x, y)
        updates, state = solver.update(
            grad, state, params, value=value, grad=grad, value_fn=objective, x=x, y=y
        )
        params = lib.apply_updates(params, updates)
        return (params, state), (params, value, state)

    def loop(params):
        return jax.lax.scan(body, (params, solver.init(params)), (xs, ys))[1]

    return jax.jit(loop)(params)


def _flat(tree: Any) -> list[tuple[str, Any]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(path), np.asarray(leaf)) for path, leaf in leaves]


def assert_same_trajectory(got: Any, expected: Any) -> None:
    """Params, values and state after every iteration: same layout, dtypes, and numbers."""
    names = ("params", "value", "state")
    for name, got_tree, expected_tree in zip(names, got, expected):
        got_leaves, expected_leaves = _flat(got_tree), _flat(expected_tree)
        assert [p for p, _ in got_leaves] == [p for p, _ in expected_leaves], (
            f"{name} layout differs from optax's"
        )
        for (path, a), (_, b) in zip(got_leaves, expected_leaves):
            assert a.dtype == b.dtype, f"{name}{path}: dtype {a.dtype} != optax's {b.dtype}"
            for step in range(a.shape[0]):
                if not np.array_equal(a[step], b[step], equal_nan=True):
                    np.testing.assert_allclose(
                        a[step],
                        b[step],
                        err_msg=f"{name}{path} at iteration {step + 1}",
                        **TOLERANCES[a.dtype],
                    )


def check(gdx_solver, optax_solver, params, objective, steps):
    gdx_run = run(gdx, gdx_solver, params, objective, steps)
    with optax_promotion():
        optax_run = run(optax, optax_solver, params, objective, steps)
    assert_same_trajectory(gdx_run, optax_run)
    return gdx_run


# --- lbfgs ---------------------------------------------------------------------------


def test_lbfgs_rosenbrock_every_iteration():
    params = {"x": jnp.array([-1.2, 1.0], jnp.float32)}
    _, values, _ = check(gdx.lbfgs(), optax.lbfgs(), params, rosenbrock, steps=50)
    assert float(values[-1]) < 1e-8


def test_lbfgs_complex_params():
    # optax supports complex params: inner products conjugate, the slope is a real part.
    center = jnp.array([1 + 2j, -0.5 + 0.25j, 3 - 1j], jnp.complex64)
    weights = jnp.array([1.0, 5.0, 20.0], jnp.float32)

    def objective(params):
        distance = params["z"] - center
        return jnp.sum(weights * (distance.real**2 + distance.imag**2)) + jnp.sum(params["r"] ** 2)

    params = {"z": jnp.zeros(3, jnp.complex64), "r": jnp.ones(2, jnp.float32)}
    check(gdx.lbfgs(), optax.lbfgs(), params, objective, steps=15)


LBFGS_CASES = [
    ("defaults", {}, {}, 30),
    (
        "memory3-unscaled-lr-backtracking",
        dict(memory_size=3, scale_init_precond=False, learning_rate=0.5),
        dict(backtracking=True),
        20,
    ),
    ("no-linesearch-schedule", dict(memory_size=4), dict(schedule=True), 20),
]


@pytest.mark.parametrize(
    "kwargs, variant, steps", [c[1:] for c in LBFGS_CASES], ids=[c[0] for c in LBFGS_CASES]
)
def test_lbfgs_quadratic_over_mixed_pytree(kwargs, variant, steps):
    def make(lib):
        extra = {}
        if variant.get("backtracking"):
            extra["linesearch"] = lib.scale_by_backtracking_linesearch(15, store_grad=True)
        if variant.get("schedule"):
            extra["learning_rate"] = lib.exponential_decay(0.5, transition_steps=5, decay_rate=0.9)
            extra["linesearch"] = None
        return lib.lbfgs(**kwargs, **extra)

    if variant.get("schedule"):  # no line search: nothing stores value and grad, so use jax's
        gdx_run = run_plain(gdx, make(gdx), QUADRATIC_PARAMS, steps)
        with optax_promotion():
            optax_run = run_plain(optax, make(optax), QUADRATIC_PARAMS, steps)
        assert_same_trajectory(gdx_run, optax_run)
        return
    check(make(gdx), make(optax), QUADRATIC_PARAMS, quadratic, steps)


def run_plain(lib, solver, params, steps):
    def body(carry, _):
        params, state = carry
        value, grad = jax.value_and_grad(quadratic)(params)
        updates, state = solver.update(grad, state, params)
        params = lib.apply_updates(params, updates)
        return (params, state), (params, value, state)

    return jax.jit(lambda p: jax.lax.scan(body, (p, solver.init(p)), None, length=steps)[1])(params)


# --- backtracking line search ------------------------------------------------------------

BACKTRACKING_CASES = [
    ("defaults-store-grad", dict(store_grad=True)),
    (
        "custom",
        dict(
            slope_rtol=0.3,
            decrease_factor=0.5,
            increase_factor=2.0,
            max_learning_rate=2.0,
            atol=1e-6,
            rtol=1e-6,
        ),
    ),
]


@pytest.mark.parametrize("kwargs", [c[1] for c in BACKTRACKING_CASES], ids=[c[0] for c in BACKTRACKING_CASES])
def test_backtracking_after_sgd(kwargs):
    def make(lib):
        return lib.chain(lib.sgd(learning_rate=1.0), lib.scale_by_backtracking_linesearch(15, **kwargs))

    if kwargs.get("store_grad"):
        check(make(gdx), make(optax), QUADRATIC_PARAMS, quadratic, steps=25)
        return
    rng = np.random.default_rng(3)
    xs = jnp.asarray(rng.standard_normal((25, 8, 3)), jnp.float32)
    ys = jnp.asarray(rng.standard_normal((25, 8)), jnp.float32)
    params = {"w": jnp.array([1.0, 2.0, 3.0], jnp.float32), "b": jnp.zeros((), jnp.float32)}
    gdx_run = run_with_data(gdx, make(gdx), params, xs, ys)
    with optax_promotion():
        optax_run = run_with_data(optax, make(optax), params, xs, ys)
    assert_same_trajectory(gdx_run, optax_run)
    assert int(np.max(gdx_run[2][1].info.num_linesearch_steps)) > 1  # it did backtrack


# --- zoom line search --------------------------------------------------------------------

ZOOM_CASES = [
    ("defaults", 1.0, dict(max_linesearch_steps=15)),
    ("tight-curvature", 1.0, dict(max_linesearch_steps=30, curv_rtol=0.1, increase_factor=3.0)),
    ("capped", 1.0, dict(max_linesearch_steps=15, max_learning_rate=1e-4, initial_guess_strategy="one")),
    ("few-steps", 1e-3, dict(max_linesearch_steps=4, curv_rtol=0.01, approx_dec_rtol=None, tol=1e-7)),
]


@pytest.mark.parametrize("sgd_lr, kwargs", [c[1:] for c in ZOOM_CASES], ids=[c[0] for c in ZOOM_CASES])
def test_zoom_after_sgd_state_and_info(sgd_lr, kwargs):
    params = {"x": jnp.array([-1.2, 1.0, 0.5], jnp.float32)}

    def make(lib):
        return lib.chain(lib.sgd(learning_rate=sgd_lr), lib.scale_by_zoom_linesearch(**kwargs))

    _, values, states = check(make(gdx), make(optax), params, rosenbrock, steps=30)
    assert float(values[-1]) < float(values[0])
    info = jax.tree.map(np.asarray, states[1].info)
    if "max_learning_rate" in kwargs:  # no interval below the largest step: stop there, curvature unmet
        assert np.all(info.curvature_error > 0)
    elif kwargs["max_linesearch_steps"] == 4:  # out of steps: fall back to a step with sufficient decrease
        fallback = (info.num_linesearch_steps == 4) & (info.decrease_error == 0) & (info.curvature_error > 0)
        assert np.any(fallback)
    else:
        assert np.max(info.num_linesearch_steps) > 2  # the zoom phase ran


# --- scale_by_lbfgs on its own (no line search) ------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [dict(), dict(memory_size=3, scale_init_precond=False)], ids=["defaults", "memory3"]
)
def test_scale_by_lbfgs_then_a_fixed_step(kwargs):
    # The quadratic's gradients give curvature pairs with s'y > 0, so the two-loop recursion is
    # well conditioned for every step (random gradients would not be).
    make = lambda lib: lib.chain(lib.scale_by_lbfgs(**kwargs), lib.scale(-0.5))  # noqa: E731
    gdx_run = run_plain(gdx, make(gdx), QUADRATIC_PARAMS, 25)
    with optax_promotion():
        optax_run = run_plain(optax, make(optax), QUADRATIC_PARAMS, 25)
    assert_same_trajectory(gdx_run, optax_run)
