"""Behaviour of the learning-rate-free optimizers beyond parity with optax.contrib.

Bad hyperparameters are checked in tests/optimizers/test_generic.py; MoMo's contract (it needs
`value=`, so it is not in tests/test_contract.py's CASES) is checked here: jit
without recompiling, dtypes kept, convergence; and the deliberate difference
from optax: prodigy and dadapt_adamw keep their step-size estimate through
all-zero gradients, where optax's becomes NaN; momo and momo_adam with
weight decay take MoMo's proximal step `(x - tau * d) / (1 + lr * weight_decay)`
(optax leaves `tau * d` undivided), checked against a float64 NumPy reference.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import optax_promotion
from tests.test_contract import mixed_params, quadratic_loss, quadratic_params

MOMOS = {"momo": lambda lr: gdx.momo(lr), "momo_adam": lambda lr: gdx.momo_adam(lr)}


def momo_step(tx):
    def step(params, state):
        value, grads = jax.value_and_grad(quadratic_loss)(params)
        updates, state = tx.update(grads, state, params, value=value)
        return gdx.apply_updates(params, updates), state

    return step


@pytest.mark.parametrize("name", MOMOS)
def test_momo_needs_value_and_params_and_says_so(name):
    tx = MOMOS[name](1.0)
    params = quadratic_params()
    state = tx.init(params)
    with pytest.raises(ValueError, match="value=loss"):
        tx.update(params, state, params)
    with pytest.raises(ValueError, match=f"^{name} needs params"):
        tx.update(params, state, value=1.0)
    with pytest.raises(TypeError, match=r"\['step'\]"):
        tx.init({"w": jnp.ones(3), "step": jnp.zeros(2, jnp.int32)})


@pytest.mark.parametrize(("name", "lr"), [("momo", 1.0), ("momo_adam", 0.1)])
def test_momo_jits_once_keeps_dtypes_and_cuts_the_quadratic_100x(name, lr):
    tx = MOMOS[name](lr)
    traces = []

    def counted(params, state):
        traces.append(1)  # runs only while tracing
        return momo_step(tx)(params, state)

    step = jax.jit(counted)
    params = quadratic_params()
    state = tx.init(params)
    initial = float(quadratic_loss(params))
    for _ in range(300):
        params, state = step(params, state)
    assert len(traces) == 1
    assert float(quadratic_loss(params)) < initial / 100

    params = mixed_params()
    grads = jax.tree.map(jnp.ones_like, params)
    state = tx.init(params)
    updates, new_state = jax.jit(tx.update)(grads, state, params, value=jnp.float32(2.0))
    for grad, update in zip(jax.tree.leaves(grads), jax.tree.leaves(updates)):
        assert update.dtype == grad.dtype
    for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        assert isinstance(after, jax.Array) and before.dtype == after.dtype and before.shape == after.shape


@pytest.mark.parametrize("name", ["prodigy", "dadapt_adamw"])
def test_zero_gradients_keep_the_step_size_estimate_where_optax_gets_nan(name):
    params = {"w": jnp.array([1.0, -2.0, 0.5], jnp.float32)}
    zeros = jax.tree.map(jnp.zeros_like, params)
    with jax.numpy_dtype_promotion("standard"):
        theirs = getattr(optax.contrib, name)()
        _, optax_state = jax.jit(theirs.update)(zeros, theirs.init(params), params)
    assert bool(jnp.isnan(optax_state.estim_lr))  # 0 / 0: the documented difference

    tx = getattr(gdx, name)()
    update = jax.jit(tx.update)
    state = tx.init(params)
    for _ in range(3):
        updates, state = update(zeros, state, params)
        np.testing.assert_array_equal(updates["w"], 0.0)
    assert state.estim_lr == jnp.float32(1e-6)  # the initial estimate, unchanged
    updates, state = update({"w": params["w"] * jnp.array([1.0, 10.0, 100.0])}, state, params)
    assert bool(jnp.all(jnp.isfinite(updates["w"]))) and bool(jnp.isfinite(state.estim_lr))


def test_mechanize_forwards_value_to_the_base_optimizer():
    tx = gdx.mechanize(gdx.polyak_sgd())
    params = quadratic_params()
    state = tx.init(params)
    params, state = jax.jit(momo_step(tx))(params, state)  # polyak_sgd reads value=
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves((params, state)))
    with pytest.raises(TypeError, match="value"):  # polyak's TypeError, as optax's
        tx.update(params, state, params)


def test_cocob_learning_rate_only_rescales_eps():
    # COCOB's bet is invariant to the gradients' scale, so the multiplier barely matters
    # (the docstring says so): 1.0 and 10.0 give the same run up to eps's share.
    params = quadratic_params()

    def run(lr):
        tx = gdx.cocob(lr)

        def body(carry, _):
            params, state = carry
            updates, state = tx.update(jax.grad(quadratic_loss)(params), state, params)
            return (gdx.apply_updates(params, updates), state), None

        (params_out, _), _ = jax.lax.scan(body, (params, tx.init(params)), None, length=20)
        return params_out

    ones, tens = jax.jit(lambda: (run(1.0), run(10.0)))()
    for a, b in zip(jax.tree.leaves(ones), jax.tree.leaves(tens)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


CURVATURE = np.array([1.0, 10.0, 100.0, 3.0])


def numpy_momo(x, steps, lr, weight_decay, lower_bound, adapt, beta=0.9, adam=None):
    """MoMo / MoMo-Adam (`adam=(b1, b2, eps)`) with weight decay, float64, on 0.5 * sum(c * x**2)."""
    d = v = np.zeros_like(x)
    f_bar = gamma = 0.0
    lb = lower_bound
    shrink = 1 + lr * weight_decay
    for t in range(1, steps + 1):
        value, g = 0.5 * np.sum(CURVATURE * x**2), CURVATURE * x
        b = beta if adam is None else adam[0]
        b = 0.0 if (adam is None and t == 1) else b
        d, f_bar, gamma = b * d + (1 - b) * g, b * f_bar + (1 - b) * value, b * gamma + (1 - b) * g @ x
        if adam is None:
            precond, c1 = np.ones_like(x), 1.0
        else:
            b1, b2, eps = adam
            v = b2 * v + (1 - b2) * g**2
            precond, c1 = eps + np.sqrt(v / (1 - b2**t)), 1 - b1**t
        norm, inner = d @ (d / precond), d @ x
        if adapt:
            cap = shrink * (f_bar - gamma) + inner
            lb = max(cap / (2 * c1 * shrink), lower_bound) if cap < shrink * c1 * lb else lb
        step = max(shrink * (f_bar - c1 * lb - gamma) + inner, 0.0) / norm if norm > 0 else 0.0
        tau = min(lr / c1, step)
        x = (x - tau * d / precond) / shrink
        if adapt:
            lb = max((f_bar + inner - gamma - 0.5 * tau * norm) / c1, lower_bound)
    return x


@pytest.mark.parametrize("adapt", [False, True], ids=["fixed-bound", "adapted-bound"])
@pytest.mark.parametrize("name", ["momo", "momo_adam"])
def test_momo_with_weight_decay_takes_the_proximal_step(name, adapt):
    lr, weight_decay, lower_bound, steps = 0.5, 0.1, 0.05, 30
    kwargs: dict[str, Any] = dict(
        learning_rate=lr, weight_decay=weight_decay, lower_bound=lower_bound, adapt_lower_bound=adapt
    )
    tx = (
        gdx.momo(beta=0.8, **kwargs) if name == "momo" else gdx.momo_adam(b1=0.8, b2=0.99, eps=1e-3, **kwargs)
    )
    x0 = np.array([1.0, -2.0, 0.5, 0.3])
    curvature = jnp.asarray(CURVATURE, jnp.float32)

    def loss(x):
        return 0.5 * jnp.sum(curvature * x**2)

    def body(carry, _):
        x, state = carry
        value, grads = jax.value_and_grad(loss)(x)
        updates, state = tx.update(grads, state, x, value=value)
        return (gdx.apply_updates(x, updates), state), None

    start = jnp.asarray(x0, jnp.float32)
    (got, _), _ = jax.jit(lambda: jax.lax.scan(body, (start, tx.init(start)), None, length=steps))()
    adam = None if name == "momo" else (0.8, 0.99, 1e-3)
    want = numpy_momo(x0, steps, lr, weight_decay, lower_bound, adapt, beta=0.8, adam=adam)
    # float32 against float64 over 30 steps: agreement to ~1e-5 relative, not bit for bit.
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


# The learning-rate-free recipes whose learning rate is inside the rule return their `scale_by_*`
# as it is: the same numbers, optax's single-NamedTuple state, and errors in the caller's name.
RULES = {
    "prodigy": gdx.transforms.scale_by_prodigy,
    "dadapt_adamw": gdx.transforms.scale_by_dadapt_adamw,
    "momo": gdx.transforms.scale_by_momo,
    "momo_adam": gdx.transforms.scale_by_momo_adam,
}


@pytest.mark.parametrize("name", RULES)
def test_recipe_is_its_scale_by_rule_under_optax_name(name):
    recipe, rule = getattr(gdx, name)(0.1), RULES[name](0.1)
    params = quadratic_params()
    value, grads = jax.value_and_grad(quadratic_loss)(params)
    extra = {"value": value} if name.startswith("momo") else {}
    recipe_state, rule_state = recipe.init(params), rule.init(params)
    with optax_promotion():
        optax_state = getattr(optax.contrib, name)(0.1).init(params)
    assert type(recipe_state) is type(rule_state) and recipe_state._fields == optax_state._fields
    for _ in range(3):
        recipe_updates, recipe_state = recipe.update(grads, recipe_state, params, **extra)
        rule_updates, rule_state = rule.update(grads, rule_state, params, **extra)
        for a, b in zip(
            jax.tree.leaves((recipe_updates, recipe_state)), jax.tree.leaves((rule_updates, rule_state))
        ):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=f"^{name}: weight_decay"):
        getattr(gdx, name)(weight_decay=-1.0)
    with pytest.raises(ValueError, match=f"^scale_by_{name}: weight_decay"):
        RULES[name](weight_decay=-1.0)
    with pytest.raises(ValueError, match=f"^scale_by_{name} needs params"):
        rule.update(grads, rule_state, value=value)


# (how it is built, the name its errors at update must say): built via the recipe, the recipe
# (also where weight decay comes first, whose add_decayed_weights needs params too); built
# directly, the rule.
UPDATE_NAMED = {
    "dog": (lambda: gdx.dog(), "dog"),
    "dog-decayed": (lambda: gdx.dog(weight_decay=0.1), "dog"),
    "scale_by_dog": (lambda: gdx.transforms.scale_by_dog(("heuristic", 1e-6)), "scale_by_dog"),
    "dowg": (lambda: gdx.dowg(), "dowg"),
    "dowg-decayed": (lambda: gdx.dowg(weight_decay=0.1), "dowg"),
    "scale_by_dowg": (lambda: gdx.transforms.scale_by_dowg(), "scale_by_dowg"),
    "cocob": (lambda: gdx.cocob(), "cocob"),
    "scale_by_cocob": (lambda: gdx.transforms.scale_by_cocob(), "scale_by_cocob"),
}


@pytest.mark.parametrize("case", UPDATE_NAMED)
def test_update_errors_name_what_the_user_called(case):
    make, shown = UPDATE_NAMED[case]
    tx = make()
    params = quadratic_params()
    state = tx.init(params)
    with pytest.raises(ValueError, match=f"^{shown} needs params"):
        tx.update(params, state)
    other = {"other": jnp.ones(2)}
    with pytest.raises(ValueError, match=f"^{shown}: "):
        tx.update(other, state, other)
