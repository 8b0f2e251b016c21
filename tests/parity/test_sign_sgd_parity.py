"""signSGD, Signum and Rprop against optax: transforms and named optimizers.

Params are compared after every step and the final state leaf by leaf. Main
cases run 100 steps; variants fewer (compile time dominates a case, so each
non-default case also takes a schedule as learning rate where the optimizer
accepts one). A named optimizer is exactly `chain(<its transform>, <learning
rate>)`, so its defaults case also covers its transform's defaults.
"""

import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, make_params


def decaying(count):
    return 1e-2 * 0.99 ** count.astype(jnp.float32)


def case_id(name, kwargs):
    return f"{name}-{'-'.join(kwargs) or 'defaults'}"


# --- low-level transforms ---------------------------------------------------------

TRANSFORM_CASES = [
    ("scale_by_sign", dict(), 100),
    ("scale_by_rprop", dict(learning_rate=0.1), 100),
    (
        "scale_by_rprop",
        dict(learning_rate=0.01, eta_minus=0.3, eta_plus=1.5, min_step_size=1e-3, max_step_size=0.05),
        50,
    ),
]


@pytest.mark.parametrize(
    "name, kwargs, steps", TRANSFORM_CASES, ids=[case_id(n, k) for n, k, _ in TRANSFORM_CASES]
)
def test_transform(name, kwargs, steps):
    # Scaled down so 100 unit-size steps keep the params in a well-conditioned range.
    gdx_tx = gdx.chain(getattr(gdx, name)(**kwargs), gdx.scale(-0.05))
    optax_tx = optax.chain(getattr(optax, name)(**kwargs), optax.scale(-0.05))
    assert_parity(gdx_tx, optax_tx, steps=steps)


# --- optimizers: defaults, 100 steps ---------------------------------------------------

OPTIMIZERS = [
    "rprop",
    "sign_sgd",
    "signum",
]


@pytest.mark.filterwarnings("ignore:`optimistic_adam` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_defaults(name):
    assert_parity(getattr(gdx, name)(1e-2), getattr(optax, name)(1e-2), steps=100)


# --- optimizers: non-default arguments, a schedule as learning rate -----------------------

VARIANT_CASES = [
    ("sign_sgd", {}),
    ("signum", dict(beta=0.5, accumulator_dtype=jnp.float32)),
]


@pytest.mark.parametrize("name, kwargs", VARIANT_CASES, ids=[case_id(n, k) for n, k in VARIANT_CASES])
def test_optimizer_variant_with_schedule(name, kwargs):
    # optax adds a scheduled (float32) decay to bfloat16 grads in float32, so its adadelta
    # state turns float32 for a bfloat16 leaf and its own scan fails: float32 params there.
    params = make_params(bfloat16=name != "adadelta")
    gdx_tx, optax_tx = getattr(gdx, name)(decaying, **kwargs), getattr(optax, name)(decaying, **kwargs)
    assert_parity(gdx_tx, optax_tx, steps=50, params=params)


# rprop and optimistic_adam take no schedule (in optax neither).
@pytest.mark.filterwarnings("ignore:`optimistic_adam` is deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("rprop", dict(eta_minus=0.3, eta_plus=1.5, min_step_size=1e-4, max_step_size=0.1)),
    ],
    ids=["rprop"],
)
def test_optimizer_variant(name, kwargs):
    assert_parity(getattr(gdx, name)(1e-2, **kwargs), getattr(optax, name)(1e-2, **kwargs), steps=50)
