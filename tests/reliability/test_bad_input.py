"""Bad input beyond what tests/test_contract.py checks: wrong types, inf, non-scalar rates,
traced hyperparameters, unknown extra arguments, missing params, complex params.

test_contract.py already covers, for every optimizer: negative/NaN/inf learning rates (0 is legal),
out-of-range b1/b2/eps/..., integer and boolean params, missing params, and grads
whose structure or shapes differ from the state (the first differing path named).
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.test_contract import PLAIN_CASES as CASES
from tests.test_contract import PLAIN_IDS as IDS
from tests.test_contract import quadratic_loss, quadratic_params


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize(
    ("bad_lr", "error"),
    [("0.01", TypeError), (True, TypeError), ([0.01], TypeError), (float("inf"), ValueError)],
    ids=["string", "bool", "list", "inf"],
)
def test_rejects_a_learning_rate_of_the_wrong_type_or_infinite(case, bad_lr, error):
    with pytest.raises(error, match="learning_rate"):
        case.make(bad_lr)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rejects_a_non_scalar_learning_rate(case):
    with pytest.raises(ValueError, match="learning_rate must be a scalar"):
        case.make(jnp.array([0.1, 0.2]))  # would broadcast silently against a 2-element leaf


WRONG_TYPES = [
    ("adam", "b1"),
    ("adam", "eps"),
    ("adamw", "weight_decay"),
    ("sgd", "momentum"),
    ("rmsprop", "decay"),
    ("lion", "b2"),
    ("lamb", "eps"),
    ("adagrad", "initial_accumulator_value"),
    ("noisy_sgd", "eta"),
    ("adan", "b3"),
]


@pytest.mark.parametrize(("name", "argument"), WRONG_TYPES)
@pytest.mark.parametrize(
    "value", ["0.9", [0.9], 0.5j, np.array("x")], ids=["str", "list", "complex", "np_str"]
)
def test_rejects_hyperparameters_of_the_wrong_type_naming_them(name, argument, value):
    with pytest.raises(TypeError, match=rf"{name}: {argument} must be a real number"):
        getattr(gdx, name)(0.01, **{argument: value})


@pytest.mark.parametrize(("name", "argument"), WRONG_TYPES)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_rejects_non_finite_hyperparameters_naming_them(name, argument, value):
    with pytest.raises(ValueError, match=rf"{argument} must be a finite number"):
        getattr(gdx, name)(0.01, **{argument: value})


# Every public gdx factory with a float-valued hyperparameter: a string or NaN for it is an error
# naming it. Required arguments get these values (unknown required arguments: not swept).
REQUIRED = {
    "learning_rate": 0.1,
    "clipping": 0.1,
    "init_value": 0.1,
    "peak_value": 0.1,
    "base_value": 0.01,
    "max_value": 0.1,
    "decay_steps": 100,
    "transition_steps": 100,
    "warmup_steps": 10,
    "t_0": 10,
    "step_size_up": 10,
    "max_backtracking_steps": 10,
    "max_linesearch_steps": 10,
}


def _float_hyperparameters():
    swept = []
    for name in sorted(dir(gdx)):
        factory = getattr(gdx, name)
        if name.startswith("_") or not inspect.isfunction(factory):
            continue
        parameters = inspect.signature(factory).parameters
        required = [p for p, q in parameters.items() if q.default is inspect.Parameter.empty]
        if any(p not in REQUIRED for p in required if parameters[p].kind != parameters[p].VAR_KEYWORD):
            continue
        base = {p: REQUIRED[p] for p in required if p in REQUIRED}
        swept += [
            (name, argument, base)
            for argument, parameter in parameters.items()
            if isinstance(parameter.default, float)
        ]
    return swept


FLOAT_HYPERPARAMETERS = _float_hyperparameters()


def test_the_sweep_covers_the_catalog():
    assert len({name for name, _, _ in FLOAT_HYPERPARAMETERS}) >= 60


@pytest.mark.parametrize(
    ("name", "argument", "base"), FLOAT_HYPERPARAMETERS, ids=[f"{n}.{a}" for n, a, _ in FLOAT_HYPERPARAMETERS]
)
def test_every_factory_rejects_a_string_or_nan_hyperparameter_naming_it(name, argument, base):
    with pytest.raises((TypeError, ValueError), match=argument):
        getattr(gdx, name)(**{**base, argument: "0.5"})
    with pytest.raises(ValueError, match=argument):
        getattr(gdx, name)(**{**base, argument: float("nan")})


@pytest.mark.parametrize(
    ("name", "argument", "out_of_range"),
    [("adam", "b1", 1.5), ("adamw", "weight_decay", -1.0), ("sgd", "momentum", 2.0), ("lion", "b2", -0.5)],
)
def test_traced_hyperparameters_are_accepted_without_checks(name, argument, out_of_range):
    params = quadratic_params()

    @jax.jit
    def step(value):
        tx = getattr(gdx, name)(0.01, **{argument: value})
        return tx.update(params, tx.init(params), params)[0]

    # An in-range traced value runs; an out-of-range one is not checked (its value is unknown at
    # construction): it is the caller's to keep in range, as with optax.
    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(step(0.5)))
    step(out_of_range)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_unknown_extra_arguments_are_accepted_and_ignored(case):
    tx = case.make(0.01)
    params = quadratic_params()
    grads = jax.grad(quadratic_loss)(params)
    extra = {"value": quadratic_loss(params), "grad": grads, "value_fn": quadratic_loss}
    state = tx.init(params)
    want, _ = tx.update(grads, state, params, **extra)
    got, _ = tx.update(grads, state, params, **extra, not_an_argument=1.0, step_info="x")
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", [c for c in CASES if c.needs_params], ids=lambda c: c.name)
def test_missing_params_names_the_transformation_that_needs_them(case):
    tx = case.make(0.01)
    params = {"w": jnp.ones(3)}
    with pytest.raises(ValueError, match=r"^\w+ needs params: call update\(grads, state, params\)"):
        tx.update(params, tx.init(params))


# --- complex params ------------------------------------------------------------------------
# gdx follows optax: complex params are supported where optax supports them (moments use
# |g|**2 = conj(g) * g), and rejected with a clear error where the rule needs an order
# (rprop, sm3). Gradients of a real loss are conjugated before the update, as in optax's docs.

COMPLEX_PARAMS = {"w": jnp.array([1 + 2j, -0.5 + 0.1j, 3 - 1j], jnp.complex64)}
COMPLEX_TARGET = jnp.array([0.5 - 1j, 2 + 0.5j, -1 + 1j], jnp.complex64)


def _complex_loss(params):
    return jnp.sum(jnp.abs(params["w"] - COMPLEX_TARGET) ** 2)


def _complex_grads(params):
    return jax.tree.map(jnp.conj, jax.grad(_complex_loss)(params))


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_complex_params_match_optax_and_descend(name):
    runs = []
    for library, promotion in ((gdx, "strict"), (optax, "standard")):
        tx = getattr(library, name)(0.05)
        params = COMPLEX_PARAMS
        with jax.numpy_dtype_promotion(promotion):
            state = tx.init(params)
            for _ in range(5):
                updates, state = tx.update(_complex_grads(params), state, params)
                params = optax.apply_updates(params, updates)
        runs.append(params["w"])
    got, want = runs
    assert got.dtype == jnp.complex64
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert float(_complex_loss({"w": got})) < float(_complex_loss(COMPLEX_PARAMS))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: gdx.rprop(0.01), TypeError, r"scale_by_rprop: complex params are not supported.*\['w'\]"),
        (lambda: gdx.sm3(0.01), ValueError, "scale_by_sm3 does not support complex params"),
    ],
    ids=["rprop", "sm3"],
)
def test_complex_params_are_rejected_where_the_rule_needs_an_order(make, error, match):
    tx = make()
    with pytest.raises(error, match=match):
        state = tx.init(COMPLEX_PARAMS)
        tx.update(COMPLEX_PARAMS, state, COMPLEX_PARAMS)
