"""Behaviour of catalog A beyond optax parity (AdaBelief, AdaDelta, Adan, RAdam, Yogi,
NovoGrad, Rprop, signSGD/Signum, optimistic optimizers).

Validation (bad hyperparameters, wrong types, non-float params, mismatched
grads), the contract checks (quadratic convergence, jit without recompiling,
dtypes), and the documented details: rprop's one-step lag, optimistic
first step, novograd without params, complex params.
"""

import math
import re
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import optax_promotion

# Learning rates verified to cut the contract quadratic's loss 100x in 300 steps
# (each with at least 10x margin, away from the edge of stability).
QUADRATIC_LR = {
    "adabelief": 0.03,
    "adadelta": 3.0,
    "adan": 0.05,
    "radam": 0.03,
    "yogi": 0.05,
    "novograd": 0.005,
    "rprop": 0.01,
    "sign_sgd": 0.02,
    "signum": 0.01,
    "optimistic_gradient_descent": 0.005,
    "optimistic_adam": 0.03,
    "optimistic_adam_v2": 0.03,
}
OPTIMIZERS = list(QUADRATIC_LR)
WITH_LEAF_STATE = [name for name in OPTIMIZERS if name != "sign_sgd"]

pytestmark = pytest.mark.filterwarnings("ignore:`optimistic_adam` is deprecated:DeprecationWarning")


def make(name: str, learning_rate: Any = 1e-2, **kwargs) -> gdx.GradientTransformation:
    return getattr(gdx, name)(learning_rate, **kwargs)


def params_f32():
    return {"a": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "b": jnp.array([0.5, -2.0])}


def grads_like(params, seed=0):
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(
        treedef, [jax.random.normal(k, x.shape, jnp.float32).astype(x.dtype) for k, x in zip(keys, leaves)]
    )


# --- hyperparameter validation -----------------------------------------------------------

ADAM_BAD = {"b1": [1.0, -0.1], "b2": [1.0], "eps": [-1e-8, math.inf], "eps_root": [-1e-8]}
BAD_HYPERPARAMETERS = {
    "adabelief": ADAM_BAD,
    "adadelta": {"rho": [1.0, -0.5], "eps": [0.0, -1e-6], "weight_decay": [-1e-4]},
    "adan": {
        "b1": [1.0],
        "b2": [-0.1],
        "b3": [1.5],
        "eps": [-1.0],
        "eps_root": [-1.0],
        "weight_decay": [-0.1],
    },
    "radam": {**ADAM_BAD, "threshold": [math.nan]},
    "yogi": {"b1": [1.0], "b2": [2.0], "eps": [-1e-3]},
    "novograd": {"b1": [1.0], "b2": [-0.25], "eps": [-1.0], "eps_root": [-1.0], "weight_decay": [-1.0]},
    "rprop": {
        "eta_minus": [0.0, 1.5],
        "eta_plus": [0.9, math.inf],
        "min_step_size": [-1.0],
        "max_step_size": [0.0, 1e-7],
    },
    "signum": {"beta": [1.0, -0.1]},
    "optimistic_gradient_descent": {"alpha": [math.nan], "beta": [math.inf]},
    "optimistic_adam": {**ADAM_BAD, "optimism": [math.nan]},
    "optimistic_adam_v2": {**ADAM_BAD, "alpha": [math.inf], "beta": [math.nan]},
}
BAD_CASES = [
    (name, arg, value)
    for name, args in BAD_HYPERPARAMETERS.items()
    for arg, values in args.items()
    for value in values
] + [(name, "learning_rate", value) for name in OPTIMIZERS for value in (-1e-3, math.nan, math.inf)]


@pytest.mark.parametrize("name, arg, value", BAD_CASES, ids=[f"{n}-{a}={v}" for n, a, v in BAD_CASES])
def test_bad_hyperparameter_raises_naming_the_argument(name, arg, value):
    kwargs = {"learning_rate": 1e-2, arg: value}
    with pytest.raises(ValueError, match=rf"^{name}: {arg} must be .*got {re.escape(repr(value))}"):
        getattr(gdx, name)(**kwargs)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_learning_rate_of_wrong_type_raises_type_error(name):
    with pytest.raises(TypeError, match=f"{name}: learning_rate"):
        make(name, "fast")


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


TRANSFORM_BAD_CASES = [
    ("scale_by_belief", dict(b1=1.0), "b1"),
    ("scale_by_adadelta", dict(eps=0.0), "eps"),
    ("scale_by_adan", dict(b3=1.0), "b3"),
    ("scale_by_radam", dict(threshold=math.inf), "threshold"),
    ("scale_by_yogi", dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    ("scale_by_novograd", dict(weight_decay=-1.0), "weight_decay"),
    ("scale_by_rprop", dict(learning_rate=-1.0), "learning_rate"),
    ("scale_by_rprop", dict(learning_rate=1.0, min_step_size=2.0, max_step_size=1.0), "max_step_size"),
    ("scale_by_optimistic_gradient", dict(beta=math.nan), "beta"),
]


@pytest.mark.parametrize(
    "name, kwargs, arg", TRANSFORM_BAD_CASES, ids=[c[0] + "-" + c[2] for c in TRANSFORM_BAD_CASES]
)
def test_transform_bad_hyperparameter(name, kwargs, arg):
    with pytest.raises(ValueError, match=rf"^{name}: {arg} must be"):
        getattr(gdx, name)(**kwargs)


def test_traced_hyperparameters_are_accepted_under_jit():
    params = params_f32()

    @jax.jit
    def step(b1, b2, eps):
        total = []
        for tx in (
            gdx.radam(1e-2, b1=b1, b2=b2, eps=eps),
            gdx.adabelief(1e-2, b1=b1, b2=b2, eps=eps),
            gdx.yogi(1e-2, b1=b1, b2=b2, eps=eps),
            gdx.adan(1e-2, b1=b1, b2=b2, b3=b2, eps=eps),
        ):
            updates, _ = tx.update(grads_like(params), tx.init(params), params)
            total.append(updates)
        return total

    for updates in step(jnp.float32(0.9), jnp.float32(0.99), jnp.float32(1e-8)):
        assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))


# --- params and grads ---------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_])
def test_rejects_integer_and_boolean_params(name, dtype):
    params = {"w": jnp.ones(3), "step": jnp.zeros(2, dtype)}
    with pytest.raises(TypeError, match=rf"^{name}: params leaf at \['step'\]"):
        make(name).init(params)


@pytest.mark.parametrize("name", WITH_LEAF_STATE)
def test_grads_tree_mismatch_names_the_first_differing_path(name):
    tx = make(name)
    params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
    state = tx.init(params)
    wrong_structure = {"dense": {"kernel": jnp.ones((2, 2)), "scale": jnp.ones(2)}}
    with pytest.raises(ValueError, match="bias|scale"):
        tx.update(wrong_structure, state, params)
    wrong_shape = {"dense": {"kernel": jnp.ones((3, 2)), "bias": jnp.ones(2)}}
    with pytest.raises(ValueError, match=r"\['dense'\]\['kernel'\]"):
        tx.update(wrong_shape, state, params)


@pytest.mark.parametrize("name", ["adadelta", "adan"])
def test_weight_decay_chain_needs_params(name):
    tx = make(name)
    params = {"w": jnp.ones(3)}
    with pytest.raises(ValueError, match="params"):
        tx.update(params, tx.init(params))


def test_novograd_needs_params_only_with_weight_decay():
    params = params_f32()
    grads = grads_like(params)
    plain = gdx.novograd(1e-2)
    without, _ = plain.update(grads, plain.init(params))
    with_params, _ = plain.update(grads, plain.init(params), params)
    jax.tree.map(np.testing.assert_array_equal, without, with_params)
    decayed = gdx.novograd(1e-2, weight_decay=0.1)
    with pytest.raises(ValueError, match="novograd needs params when weight_decay != 0"):
        decayed.update(grads, decayed.init(params))


# --- the contract: convergence, jit, dtypes ----------------------------------------------------

CURVATURE = {"w": jnp.array([1.0, 10.0, 100.0]), "b": jnp.array(3.0)}


def quadratic_loss(params):
    return sum(0.5 * jnp.sum(CURVATURE[k] * params[k] ** 2) for k in params)


def quadratic_params():
    return {"w": jnp.array([1.0, -2.0, 0.5], jnp.float32), "b": jnp.array(0.3, jnp.float32)}


def train_step(tx):
    def step(params, state):
        updates, state = tx.update(jax.grad(quadratic_loss)(params), state, params)
        return gdx.apply_updates(params, updates), state

    return step


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_reduces_ill_conditioned_quadratic_100x(name):
    tx = make(name, QUADRATIC_LR[name])
    params = quadratic_params()

    @jax.jit
    def run(params):
        def body(carry, _):
            return train_step(tx)(*carry), None

        (params, _), _ = jax.lax.scan(body, (params, tx.init(params)), None, length=300)
        return params

    initial, final = quadratic_loss(params), quadratic_loss(run(params))
    assert bool(jnp.isfinite(final))
    assert float(final) < float(initial) / 100, f"{name}: {float(initial)} -> {float(final)}"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_jit_does_not_recompile_and_dtypes_are_kept(name):
    traces = []
    tx = make(name)

    def step(params, state):
        traces.append(1)  # runs only while tracing
        return train_step(tx)(params, state)

    step = jax.jit(step, donate_argnums=(0, 1))  # donation also catches state leaves sharing a buffer
    params = quadratic_params()
    state = tx.init(params)
    first_state = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state)
    for _ in range(3):
        params, state = step(params, state)
    assert len(traces) == 1
    assert jax.tree.structure(state) == jax.tree.structure(first_state)
    for before, after in zip(jax.tree.leaves(first_state), jax.tree.leaves(state)):
        assert isinstance(after, jax.Array)
        assert before.dtype == after.dtype and before.shape == after.shape


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bfloat16_leaves_keep_their_dtype(name):
    params = {"w": jnp.ones(3, jnp.float32), "emb": jnp.ones((2, 3), jnp.bfloat16)}
    tx = make(name)
    state = tx.init(params)
    grads = grads_like(params)
    updates, new_state = jax.jit(tx.update)(grads, state, params)
    for grad, update in zip(jax.tree.leaves(grads), jax.tree.leaves(updates)):
        assert update.dtype == grad.dtype
    for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        assert before.dtype == after.dtype


# --- documented details --------------------------------------------------------------------


def test_rprop_applies_each_step_one_call_late_as_optax():
    tx = gdx.rprop(0.1)
    params = {"w": jnp.array([1.0])}
    state = tx.init(params)
    got = []
    for _ in range(3):
        updates, state = tx.update({"w": jnp.array([1.0])}, state)
        got.append(float(updates["w"][0]))
    np.testing.assert_allclose(got, [0.0, -0.1, -0.12], rtol=1e-6)


def test_rprop_pauses_a_coordinate_after_a_sign_change():
    tx = gdx.scale_by_rprop(0.1)
    state = tx.init({"w": jnp.zeros(1)})
    for g in (1.0, 1.0):
        _, state = tx.update({"w": jnp.array([g])}, state)
    _, state = tx.update({"w": jnp.array([-1.0])}, state)
    np.testing.assert_allclose(state.step_sizes["w"], [0.12 * 0.5], rtol=1e-6)
    np.testing.assert_array_equal(state.prev_updates["w"], [0.0])


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


def test_adadelta_without_learning_rate_ascends_like_optax():
    tx = gdx.adadelta()
    params = {"w": jnp.array([1.0])}
    updates, _ = tx.update({"w": jnp.array([2.0])}, tx.init(params), params)
    assert float(updates["w"][0]) > 0


def test_sign_sgd_state_is_empty_and_signum_does_not_debias():
    params = params_f32()
    assert jax.tree.leaves(gdx.sign_sgd(1e-2).init(params)) == []
    tx = gdx.signum(1e-2, beta=0.9)
    grads = grads_like(params)
    updates, state = tx.update(grads, tx.init(params))
    jax.tree.map(lambda m, g: np.testing.assert_allclose(m, 0.1 * g, rtol=1e-6), state[0].ema, grads)
    jax.tree.map(lambda u, g: np.testing.assert_array_equal(u, -1e-2 * np.sign(g)), updates, grads)


def test_novograd_mu_dtype_keeps_state_and_update_dtypes():
    params = params_f32()
    tx = gdx.scale_by_novograd(mu_dtype=jnp.bfloat16)
    state = tx.init(params)
    grads = [grads_like(params, seed) for seed in range(3)]
    for g in grads:
        updates, state = tx.update(g, state, params)
    assert all(m.dtype == jnp.bfloat16 for m in jax.tree.leaves(state.mu))
    assert all(u.dtype == jnp.float32 for u in jax.tree.leaves(updates))
    with optax_promotion():
        reference = optax.scale_by_novograd(mu_dtype=jnp.bfloat16)
        reference_state = reference.init(params)
        for g in grads:
            expected, reference_state = reference.update(g, reference_state, params)
    for got, want in zip(jax.tree.leaves(updates), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got, np.asarray(want, np.float32), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("name", ["scale_by_belief", "scale_by_radam", "scale_by_adan", "scale_by_yogi"])
def test_saturated_step_count_keeps_updates_finite(name):
    tx = getattr(gdx, name)()
    params = params_f32()
    state = tx.init(params)
    field = "t" if name == "scale_by_adan" else "count"
    state = state._replace(**{field: jnp.array(np.iinfo(np.int32).max, jnp.int32)})
    updates, state = tx.update(grads_like(params), state)
    assert int(getattr(state, field)) == np.iinfo(np.int32).max
    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("scale_by_belief", {}),
        ("scale_by_yogi", {}),
        ("scale_by_radam", dict(threshold=1.0)),
        ("scale_by_adan", {}),
        ("scale_by_sign", {}),
        ("scale_by_optimistic_gradient", {}),
    ],
)
def test_complex_params_match_optax(name, kwargs):
    params = {"w": jnp.asarray(np.arange(6.0) + 1j * np.arange(6.0)[::-1], jnp.complex64)}
    grads = [{"w": jnp.asarray(np.full(6, 0.3 - 0.7j) * (k + 1), jnp.complex64)} for k in range(3)]
    tx = getattr(gdx, name)(**kwargs)
    state = tx.init(params)
    for g in grads:
        updates, state = tx.update(g, state)
    with optax_promotion(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's complex -> real cast in optax's radam
        reference = getattr(optax, name)(**kwargs)
        reference_state = reference.init(params)
        for g in grads:
            expected, reference_state = reference.update(g, reference_state)
    assert updates["w"].dtype == expected["w"].dtype
    np.testing.assert_allclose(updates["w"], expected["w"], rtol=1e-6, atol=1e-7)
    for got, want in zip(jax.tree.leaves(state), jax.tree.leaves(reference_state)):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
