"""Catalog A against optax: AdaBelief, AdaDelta, Adan, RAdam, Yogi, NovoGrad, Rprop,
signSGD/Signum and the optimistic optimizers, transforms and named optimizers.

Params are compared after every step and the final state leaf by leaf. Main
cases run 100 steps; variants fewer (compile time dominates a case, so each
non-default case also takes a schedule as learning rate where the optimizer
accepts one). A named optimizer is exactly `chain(<its transform>, <learning
rate>)`, so its defaults case also covers its transform's defaults; transforms
run on their own where their defaults differ (adan, novograd) and with
non-default arguments the optimizer does not expose.
"""

import jax
import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, make_params


def decaying(count):
    return 1e-2 * 0.99 ** count.astype(jnp.float32)


def decaying_weight_decay(count):
    return 1e-2 * 0.98 ** count.astype(jnp.float32)


def not_a_vector(params):
    return jax.tree.map(lambda x: x.ndim > 1, params)


MASK = {
    "dense": {"kernel": True, "bias": False},
    "conv": (True,),
    "scale": False,
    "matrix": True,
    "embedding": True,
}


def case_id(name, kwargs):
    return f"{name}-{'-'.join(kwargs) or 'defaults'}"


# --- low-level transforms ---------------------------------------------------------

TRANSFORM_CASES = [
    ("scale_by_belief", dict(b1=0.8, b2=0.99, eps=1e-8, eps_root=0.0, nesterov=True), 50),
    ("scale_by_adadelta", dict(rho=0.5, eps=1e-3), 50),
    ("scale_by_adan", {}, 100),
    ("scale_by_adan", dict(b1=0.9, b2=0.8, b3=0.95, eps=1e-6, eps_root=1e-8), 50),
    ("scale_by_radam", dict(b2=0.99, eps_root=1e-8, threshold=3.0, nesterov=True), 50),
    ("scale_by_yogi", dict(b1=0.5, b2=0.9, eps=1e-2, eps_root=1e-8, initial_accumulator_value=0.1), 50),
    ("scale_by_novograd", {}, 100),
    ("scale_by_novograd", dict(b1=0.5, b2=0.5, eps=1e-6, eps_root=1e-6, weight_decay=0.1), 50),
    ("scale_by_rprop", dict(learning_rate=0.1), 100),
    (
        "scale_by_rprop",
        dict(learning_rate=0.01, eta_minus=0.3, eta_plus=1.5, min_step_size=1e-3, max_step_size=0.05),
        50,
    ),
    ("scale_by_optimistic_gradient", dict(alpha=0.5, beta=2.0), 50),
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
    "adabelief",
    "adadelta",
    "adan",
    "radam",
    "yogi",
    "novograd",
    "rprop",
    "sign_sgd",
    "signum",
    "optimistic_gradient_descent",
    "optimistic_adam",
    "optimistic_adam_v2",
]


@pytest.mark.filterwarnings("ignore:`optimistic_adam` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_defaults(name):
    assert_parity(getattr(gdx, name)(1e-2), getattr(optax, name)(1e-2), steps=100)


# --- optimizers: non-default arguments, a schedule as learning rate -----------------------

VARIANT_CASES = [
    ("adabelief", dict(b1=0.8, b2=0.99, eps=1e-8, eps_root=0.0, nesterov=True)),
    ("adadelta", dict(rho=0.5, eps=1e-4, weight_decay=decaying_weight_decay, weight_decay_mask=not_a_vector)),
    ("adan", dict(b1=0.9, b2=0.8, b3=0.95, eps_root=0.0, weight_decay=0.05, mask=MASK)),
    ("radam", dict(b1=0.8, b2=0.99, eps_root=1e-8, threshold=4.0, nesterov=True)),
    ("yogi", dict(b1=0.5, b2=0.9, eps=1e-4)),
    ("novograd", dict(b1=0.5, b2=0.5, eps=1e-8, eps_root=1e-8, weight_decay=0.05)),
    ("sign_sgd", {}),
    ("signum", dict(beta=0.5, accumulator_dtype=jnp.float32)),
    ("optimistic_gradient_descent", dict(alpha=0.5, beta=2.0)),
    ("optimistic_adam_v2", dict(alpha=0.5, beta=0.5, b2=0.99, mu_dtype=jnp.bfloat16, nesterov=False)),
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
        (
            "optimistic_adam",
            dict(optimism=0.05, b1=0.8, eps_root=1e-8, mu_dtype=jnp.bfloat16, nesterov=False),
        ),
    ],
    ids=["rprop", "optimistic_adam"],
)
def test_optimizer_variant(name, kwargs):
    assert_parity(getattr(gdx, name)(1e-2, **kwargs), getattr(optax, name)(1e-2, **kwargs), steps=50)


def test_adadelta_without_learning_rate():
    # optax's default: no scaling at all, the update is +d (ascent); parity still holds.
    assert_parity(gdx.adadelta(), optax.adadelta(), steps=30)


@pytest.mark.parametrize("name", ["adan", "novograd"])
def test_large_gradients_stay_in_parity(name):
    assert_parity(getattr(gdx, name)(1e-3), getattr(optax, name)(1e-3), steps=30, grad_scale=1e3)
