"""Behaviour of the optimistic optimizers beyond optax parity.

Validation (bad hyperparameters, wrong types, non-float params, mismatched grads), the
contract checks (quadratic convergence, jit without recompiling, dtypes) and the documented
details.
"""

import math
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.optimizers.checks import grads_like, make, quadratic_loss, quadratic_params, train_step
from tests.parity.harness import optax_promotion

# Learning rates verified to cut the contract quadratic's loss 100x in 300 steps
# (each with at least 10x margin, away from the edge of stability).
QUADRATIC_LR = {
    "optimistic_gradient_descent": 0.005,
    "optimistic_adam": 0.03,
    "optimistic_adam_v2": 0.03,
}


OPTIMIZERS = list(QUADRATIC_LR)


WITH_LEAF_STATE = [name for name in OPTIMIZERS if name != "sign_sgd"]


pytestmark = pytest.mark.filterwarnings("ignore:`optimistic_adam` is deprecated:DeprecationWarning")


# --- hyperparameter validation -----------------------------------------------------------

ADAM_BAD = {"b1": [1.0, -0.1], "b2": [1.0], "eps": [-1e-8, math.inf], "eps_root": [-1e-8]}


BAD_HYPERPARAMETERS = {
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
    ("scale_by_optimistic_gradient", dict(beta=math.nan), "beta"),
]


@pytest.mark.parametrize(
    "name, kwargs, arg", TRANSFORM_BAD_CASES, ids=[c[0] + "-" + c[2] for c in TRANSFORM_BAD_CASES]
)
def test_transform_bad_hyperparameter(name, kwargs, arg):
    with pytest.raises(ValueError, match=rf"^{name}: {arg} must be"):
        getattr(gdx, name)(**kwargs)


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


@pytest.mark.parametrize(
    "name, kwargs",
    [
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
