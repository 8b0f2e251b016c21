"""Side-by-side runs of a gdx transformation and its optax counterpart.

`assert_parity(gdx_tx, optax_tx)` trains the same random pytree (nested dicts
and tuples, a scalar, a 3-D leaf, a bfloat16 leaf) with fresh random gradients
for `steps` steps, each side as one jitted `lax.scan` (so a case compiles
once), gdx under strict dtype promotion and optax under standard promotion
(optax fails under strict). Params are compared after every step, and the
final states are compared leaf by leaf, paths included, so the state layout
must match optax's too.

Tolerances (DESIGN.md): float32 rtol 1e-6, atol 1e-7; bfloat16 rtol 1e-2 with
atol 1e-2 (one bfloat16 ulp at 1.0 is 7.8e-3, so a lone rounding difference
near zero must not fail the case).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx

TOLERANCES = {
    np.dtype(jnp.float32): dict(rtol=1e-6, atol=1e-7),
    np.dtype(jnp.bfloat16): dict(rtol=1e-2, atol=1e-2),
}


@contextlib.contextmanager
def optax_promotion() -> Iterator[None]:
    """Context for reference optax calls: 'standard' dtype and 'allow' rank promotion.

    The test session runs gdx under strict dtype promotion and rank promotion
    'raise' (tests/conftest.py); optax survives neither (it promotes dtypes,
    e.g. `b1**count`, and relies on implicit rank promotion), so reference
    calls relax both.
    """
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


def make_params(seed: int = 0, *, bfloat16: bool = True) -> dict[str, Any]:
    """A small pytree of mixed shapes: nested dict and tuple, scalar, 3-D, bf16 leaf."""
    keys = jax.random.split(jax.random.key(seed), 6)
    params: dict[str, Any] = {
        "dense": {
            "kernel": jax.random.normal(keys[0], (4, 3), jnp.float32),
            "bias": jax.random.normal(keys[1], (3,), jnp.float32),
        },
        "conv": (jax.random.normal(keys[2], (2, 3, 4), jnp.float32),),
        "scale": jax.random.normal(keys[3], (), jnp.float32),
        "matrix": jax.random.normal(keys[4], (5, 6), jnp.float32),
    }
    if bfloat16:
        params["embedding"] = jax.random.normal(keys[5], (6, 2), jnp.bfloat16)
    return params


def random_grads(key: jax.Array, params: Any, scale: float = 1.0) -> Any:
    """Normal(0, scale) gradients with the structure and dtypes of `params` (one step)."""
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    grads = [
        (scale * jax.random.normal(k, jnp.shape(x), jnp.float32)).astype(jnp.result_type(x))
        for k, x in zip(keys, leaves)
    ]
    return jax.tree.unflatten(treedef, grads)


def grad_sequence(params: Any, steps: int, seed: int, scale: float = 1.0) -> Any:
    """Normal(0, scale) gradients for `steps` steps: each leaf gets a leading `steps` axis.

    Drawn with NumPy outside the compiled program: a PRNG inside the scanned
    step multiplies compile time several-fold and tests nothing about gdx.
    """
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda x: jnp.asarray(
            scale * rng.standard_normal((steps, *jnp.shape(x)), dtype=np.float32), jnp.result_type(x)
        ),
        params,
    )


def run_trajectory(
    tx: Any,
    params: Any,
    *,
    steps: int,
    seed: int,
    apply_updates: Callable[[Any, Any], Any],
    grad_scale: float = 1.0,
    extra_args: Callable[[Any, jax.Array], dict[str, Any]] | None = None,
) -> tuple[Any, Any]:
    """Runs `steps` jitted steps of `tx`; returns (params after every step, final state).

    `extra_args(params, step)` may return keyword arguments for `update` (e.g. `value=`).
    """
    grads_per_step = grad_sequence(params, steps, seed, grad_scale)

    def run(params, grads_per_step):
        state = tx.init(params)

        def body(carry, inputs):
            params, state = carry
            step, grads = inputs
            kwargs = extra_args(params, step) if extra_args else {}
            updates, state = tx.update(grads, state, params, **kwargs)
            params = apply_updates(params, updates)
            return (params, state), params

        inputs = (jnp.arange(steps, dtype=jnp.int32), grads_per_step)
        (_, final_state), trajectory = jax.lax.scan(body, (params, state), inputs)
        return trajectory, final_state

    return jax.jit(run)(params, grads_per_step)


def _assert_close(got: Any, expected: Any, where: str, tolerances: dict | None = None) -> None:
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype, f"{where}: dtype {got.dtype} != optax's {expected.dtype}"
    assert got.shape == expected.shape, f"{where}: shape {got.shape} != optax's {expected.shape}"
    tolerance = {**TOLERANCES, **(tolerances or {})}.get(got.dtype, dict(rtol=0, atol=0))
    if got.dtype == np.dtype(jnp.bfloat16):
        got, expected = got.astype(np.float32), expected.astype(np.float32)
    np.testing.assert_allclose(got, expected, err_msg=where, **tolerance)


def _flat_with_paths(tree: Any) -> list[tuple[str, Any]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(path), leaf) for path, leaf in leaves]


def assert_parity(
    gdx_tx: Any,
    optax_tx: Any,
    *,
    steps: int = 100,
    seed: int = 0,
    params: Any = None,
    grad_scale: float = 1.0,
    extra_args: Callable[[Any, jax.Array], dict[str, Any]] | None = None,
    compare_state: bool = True,
    gdx_promotion: str = "strict",
    tolerances: dict | None = None,
) -> None:
    """Asserts gdx and optax give the same params after every step and the same final state.

    `tolerances` ({dtype: dict(rtol=..., atol=...)}) overrides `TOLERANCES`; a
    caller that widens one must say why next to the call.

    `gdx_promotion="standard"` is for gdx combinators wrapped around optax members
    (which cannot run under strict promotion); gdx's own code always runs strict.
    """
    params = make_params(seed) if params is None else params
    common = dict(steps=steps, seed=seed + 1, grad_scale=grad_scale, extra_args=extra_args)
    with jax.numpy_dtype_promotion(gdx_promotion):
        gdx_trajectory, gdx_state = run_trajectory(gdx_tx, params, apply_updates=gdx.apply_updates, **common)
    with optax_promotion():
        optax_trajectory, optax_state = run_trajectory(
            optax_tx, params, apply_updates=optax.apply_updates, **common
        )
    for (path, got), (_, expected) in zip(
        _flat_with_paths(gdx_trajectory), _flat_with_paths(optax_trajectory)
    ):
        got, expected = np.asarray(got), np.asarray(expected)
        for step in range(steps):
            if not np.array_equal(got[step], expected[step]):
                _assert_close(got[step], expected[step], f"params{path} after step {step + 1}", tolerances)
    if compare_state:
        gdx_leaves, optax_leaves = _flat_with_paths(gdx_state), _flat_with_paths(optax_state)
        assert [p for p, _ in gdx_leaves] == [p for p, _ in optax_leaves], (
            "state layout differs from optax's:\n"
            f"gdx:   {[p for p, _ in gdx_leaves]}\noptax: {[p for p, _ in optax_leaves]}"
        )
        for (path, got), (_, expected) in zip(gdx_leaves, optax_leaves):
            _assert_close(got, expected, f"final state{path}", tolerances)


def schedule_values(schedule: Callable[[Any], Any], steps: int, *, jit: bool) -> np.ndarray:
    """`schedule(0..steps-1)` as float32 numbers, jitted (vmapped) or eager one by one."""
    counts = jnp.arange(steps, dtype=jnp.int32)
    if jit:
        return np.asarray(jax.jit(jax.vmap(schedule))(counts), np.float32)
    return np.asarray([np.asarray(schedule(c), np.float32) for c in counts])


def assert_bit_identical(got: Any, expected: Any, where: str = "") -> None:
    """Same structure, dtypes, shapes and bytes as optax's result (so -0.0 vs 0.0 fails).

    Where optax returns a Python number, gdx must return the same type and value.
    """
    assert jax.tree.structure(got) == jax.tree.structure(expected), where
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(got), jax.tree.leaves(expected)):
        at = f"{where}{jax.tree_util.keystr(path)}"
        if isinstance(b, bool | int | float):  # optax returned a Python number: so must gdx
            assert type(a) is type(b) and a == b, (at, a, b)
            continue
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, f"{at}: dtype {a.dtype} != optax's {b.dtype}"
        assert a.shape == b.shape, f"{at}: shape {a.shape} != optax's {b.shape}"
        if a.dtype.kind in "fc" or a.dtype == np.dtype(jnp.bfloat16):
            np.testing.assert_array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}"), err_msg=at)
        else:
            np.testing.assert_array_equal(a, b, err_msg=at)


# --- the parametrized tests of a family module -------------------------------------------------
#
# A family's parity module holds its case tables and takes its tests from these factories, e.g.
# `test_transform = transform_tests(TRANSFORM_CASES)`: the body is written once here, the cases
# stay with the family (and keep their ids there). Main cases run 100 steps; variants fewer
# (compile time dominates a case, so each non-default case also takes a schedule as learning rate
# where the optimizer accepts one). A named optimizer is exactly `chain(<its transform>,
# <learning rate>)`, so its defaults case also covers its transform's defaults.


def both(name: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """`gdx.<name>(...)` and `optax.<name>(...)` with the same arguments."""
    return getattr(gdx, name)(*args, **kwargs), getattr(optax, name)(*args, **kwargs)


def check_transform(
    name: str, kwargs: dict[str, Any], steps: int, step_size: float = -0.05, **parity: Any
) -> None:
    """The transform `name` chained with `scale(step_size)`, gdx against optax."""
    # Scaled down so 100 unit-size steps keep the params in a well-conditioned range.
    ours, theirs = both(name, **kwargs)
    assert_parity(
        gdx.chain(ours, gdx.scale(step_size)),
        optax.chain(theirs, optax.scale(step_size)),
        steps=steps,
        **parity,
    )


def case_id(name: str, kwargs: dict[str, Any]) -> str:
    return f"{name}-{'-'.join(kwargs) or 'defaults'}"


def decaying_from(start: float, rate: float = 0.99) -> gdx.Schedule:
    """The schedule `start * rate**count` (a learning rate or a weight decay that decays)."""

    def schedule(count: Any) -> jax.Array:
        return start * rate ** count.astype(jnp.float32)

    return schedule


decaying = decaying_from(1e-2)  # the schedule the variant cases take as learning rate

# A mask over make_params(): True for everything but the biases and the scalar.
MASK = {
    "dense": {"kernel": True, "bias": False},
    "conv": (True,),
    "scale": False,
    "matrix": True,
    "embedding": True,
}


def not_a_vector(params: Any) -> Any:
    """A callable mask: True for the leaves of rank 2 or more."""
    return jax.tree.map(lambda x: x.ndim > 1, params)


def check_named(name: str, *args: Any, steps: int = 100, params: Any = None, **kwargs: Any) -> None:
    """`gdx.<name>(*args, **kwargs)` against `optax.<name>(*args, **kwargs)` (see `both`)."""
    assert_parity(*both(name, *args, **kwargs), steps=steps, params=params)


def transform_tests(cases: list[tuple[str, dict[str, Any], int]]) -> Callable[..., None]:
    """`(transform name, kwargs, steps)` cases: the transform chained with a small step, vs optax."""

    @pytest.mark.parametrize("name, kwargs, steps", cases, ids=[case_id(n, k) for n, k, _ in cases])
    def test_transform(name, kwargs, steps):
        check_transform(name, kwargs, steps)

    return test_transform


def optimizer_tests(cases: list[tuple[str, dict[str, Any], int]], *args: Any) -> Callable[..., None]:
    """`(optimizer name, kwargs, steps)` cases, each built as `<name>(*args, **kwargs)`, vs optax."""

    @pytest.mark.parametrize("name, kwargs, steps", cases, ids=[case_id(n, k) for n, k, _ in cases])
    def test_optimizer(name, kwargs, steps):
        check_named(name, *args, steps=steps, **kwargs)

    return test_optimizer


def optimizer_defaults_tests(names: list[str]) -> Callable[..., None]:
    """Named optimizers with their defaults at learning rate 1e-2, 100 steps."""

    @pytest.mark.parametrize("name", names)
    def test_optimizer_defaults(name):
        assert_parity(getattr(gdx, name)(1e-2), getattr(optax, name)(1e-2), steps=100)

    return test_optimizer_defaults


def optimizer_schedule_tests(cases: list[tuple[str, dict[str, Any]]]) -> Callable[..., None]:
    """`(optimizer name, kwargs)` cases with `decaying` as learning rate, 50 steps."""

    @pytest.mark.parametrize("name, kwargs", cases, ids=[case_id(n, k) for n, k in cases])
    def test_optimizer_variant_with_schedule(name, kwargs):
        # optax adds a scheduled (float32) decay to bfloat16 grads in float32, so its adadelta
        # state turns float32 for a bfloat16 leaf and its own scan fails: float32 params there.
        params = make_params(bfloat16=name != "adadelta")
        gdx_tx, optax_tx = getattr(gdx, name)(decaying, **kwargs), getattr(optax, name)(decaying, **kwargs)
        assert_parity(gdx_tx, optax_tx, steps=50, params=params)

    return test_optimizer_variant_with_schedule


def optimizer_number_tests(cases: list[tuple[str, dict[str, Any]]]) -> Callable[..., None]:
    """`(optimizer name, kwargs)` cases at learning rate 1e-2 (for those that take no schedule)."""

    @pytest.mark.parametrize("name, kwargs", cases, ids=[n for n, _ in cases])
    def test_optimizer_variant(name, kwargs):
        assert_parity(getattr(gdx, name)(1e-2, **kwargs), getattr(optax, name)(1e-2, **kwargs), steps=50)

    return test_optimizer_variant


def large_gradient_tests(names: list[str]) -> Callable[..., None]:
    """Named optimizers at learning rate 1e-3 on gradients scaled by 1e3, 30 steps."""

    @pytest.mark.parametrize("name", names)
    def test_large_gradients_stay_in_parity(name):
        assert_parity(getattr(gdx, name)(1e-3), getattr(optax, name)(1e-3), steps=30, grad_scale=1e3)

    return test_large_gradients_stay_in_parity
