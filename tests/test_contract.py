"""The contract every named optimizer keeps (DESIGN.md, "Tests").

For each optimizer: jit without recompiling between steps, dtypes preserved,
state is a pytree of arrays, an ill-conditioned quadratic's loss drops 100x,
vmap over a batch of params equals per-example runs, pmap with averaged
gradients equals the full-batch step, a learning rate of 0 leaves the params
unchanged, bad hyperparameters and non-float params are rejected, and a grads
tree that does not match the state fails with the path named.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[float], gdx.GradientTransformation]
    quadratic_lr: float  # chosen per optimizer so 300 steps cut the quadratic's loss 100x
    needs_params: bool = False
    has_leaf_state: bool = True
    takes_schedule: bool = True  # rprop and optimistic_adam take a number only (as in optax)
    optimizer: str = ""  # the gdx function the case covers, when `name` is a variant of it
    # Extra keyword arguments of every update, from the loss function and the params
    # (momo and polyak_sgd need `value=`, sophia `obj_fn=`).
    extra_args: Callable[[Callable, object], dict] | None = None
    per_example: bool = False  # the update takes per-example grads (a leading batch axis), as dpsgd

    @property
    def covers(self) -> str:
        return self.optimizer or self.name


def with_value(loss_fn, params):
    return {"value": loss_fn(params)}


def with_obj_fn(loss_fn, params):
    del params
    return {"obj_fn": loss_fn}


CASES = [
    Case("sgd", lambda lr: gdx.sgd(lr), 0.009, has_leaf_state=False),
    Case("sgd_momentum", lambda lr: gdx.sgd(lr, momentum=0.9), 0.005, optimizer="sgd"),
    Case("sgd_nesterov", lambda lr: gdx.sgd(lr, momentum=0.9, nesterov=True), 0.005, optimizer="sgd"),
    Case("adagrad", lambda lr: gdx.adagrad(lr), 0.5),
    Case("rmsprop", lambda lr: gdx.rmsprop(lr), 0.01),
    Case(
        "rmsprop_centered",
        lambda lr: gdx.rmsprop(lr, centered=True, momentum=0.5),
        0.01,
        optimizer="rmsprop",
    ),
    Case("adam", lambda lr: gdx.adam(lr), 0.05),
    Case("adam_nesterov", lambda lr: gdx.adam(lr, nesterov=True), 0.05, optimizer="adam"),
    Case("adamw", lambda lr: gdx.adamw(lr), 0.05, needs_params=True),
    Case("nadam", lambda lr: gdx.nadam(lr), 0.05),
    Case("nadamw", lambda lr: gdx.nadamw(lr), 0.05, needs_params=True),
    Case("adamax", lambda lr: gdx.adamax(lr), 0.05),
    Case("adamaxw", lambda lr: gdx.adamaxw(lr), 0.05, needs_params=True),
    Case("amsgrad", lambda lr: gdx.amsgrad(lr), 0.05),
    Case("lion", lambda lr: gdx.lion(lr), 0.03, needs_params=True),
    Case("lamb", lambda lr: gdx.lamb(lr), 0.02, needs_params=True),
    Case("lars", lambda lr: gdx.lars(lr), 1.0, needs_params=True),
    Case("adabelief", lambda lr: gdx.adabelief(lr), 0.03),
    Case("adadelta", lambda lr: gdx.adadelta(lr), 3.0, needs_params=True),
    Case("adan", lambda lr: gdx.adan(lr), 0.05, needs_params=True),
    Case("radam", lambda lr: gdx.radam(lr), 0.03),
    Case("yogi", lambda lr: gdx.yogi(lr), 0.05),
    Case("novograd", lambda lr: gdx.novograd(lr), 0.005),
    Case("rprop", lambda lr: gdx.rprop(lr), 0.01, takes_schedule=False),
    Case("sign_sgd", lambda lr: gdx.sign_sgd(lr), 0.02, has_leaf_state=False),
    Case("signum", lambda lr: gdx.signum(lr), 0.01),
    Case("optimistic_gradient_descent", lambda lr: gdx.optimistic_gradient_descent(lr), 0.005),
    Case("optimistic_adam", lambda lr: gdx.optimistic_adam(lr), 0.03, takes_schedule=False),
    Case("optimistic_adam_v2", lambda lr: gdx.optimistic_adam_v2(lr), 0.03),
    Case("adafactor", lambda lr: gdx.adafactor(lr), 0.1, needs_params=True),
    Case(
        "adafactor_momentum_decay",
        lambda lr: gdx.adafactor(lr, momentum=0.9, weight_decay_rate=1e-4),
        0.1,
        needs_params=True,
        optimizer="adafactor",
    ),
    Case("sm3", lambda lr: gdx.sm3(lr), 0.2),
    Case("fromage", lambda lr: gdx.fromage(lr), 0.05, needs_params=True, has_leaf_state=False),
    Case("noisy_sgd", lambda lr: gdx.noisy_sgd(lr, key=0), 0.005, has_leaf_state=False),
    Case("lbfgs", lambda lr: gdx.lbfgs(lr, linesearch=None), 0.5, needs_params=True),
    # polyak_sgd's learning rate is `max_learning_rate`, a cap on the Polyak step (a number, as in optax).
    Case(
        "polyak_sgd",
        lambda lr: gdx.polyak_sgd(max_learning_rate=lr),
        1.0,
        has_leaf_state=False,
        takes_schedule=False,
        extra_args=with_value,
    ),
    # (begin contrib-muon-schedulefree-adopt-ademamix-sam)
    # muon: the quadratic's params are a vector and a scalar, so muon runs its AdamW fallback here
    # (its Newton-Schulz path is covered by the parity tests and mixed_params' 2-D bf16 leaf).
    Case("muon", lambda lr: gdx.muon(lr), 0.05, needs_params=True),
    Case("schedule_free_adamw", lambda lr: gdx.schedule_free_adamw(lr), 0.05, needs_params=True),
    Case("schedule_free_sgd", lambda lr: gdx.schedule_free_sgd(lr), 0.01, needs_params=True),
    Case(
        "schedule_free",
        lambda lr: gdx.schedule_free(gdx.adam(lr, b1=0.0), lr),
        0.05,
        needs_params=True,
    ),
    Case("adopt", lambda lr: gdx.adopt(lr), 0.05),
    Case("ademamix", lambda lr: gdx.ademamix(lr), 0.05, needs_params=True),
    # b1=0.9: the default b1=0.99 (undamped momentum, ~100 steps of memory) still oscillates
    # on this quadratic after 300 steps at every learning rate tried.
    Case("simplified_ademamix", lambda lr: gdx.simplified_ademamix(lr, b1=0.9), 0.001, needs_params=True),
    # (end contrib-muon-schedulefree-adopt-ademamix-sam)
    # (begin contrib-lr-free)
    # Learning-rate-free: the "lr" is a multiplier of the estimated step size (default 1.0).
    Case("prodigy", lambda lr: gdx.prodigy(lr), 1.0, needs_params=True),
    Case("dadapt_adamw", lambda lr: gdx.dadapt_adamw(lr), 1.0, needs_params=True),
    Case("cocob", lambda lr: gdx.cocob(lr), 1.0, needs_params=True),
    Case("dog", lambda lr: gdx.dog(lr), 1.0, needs_params=True),
    Case("dowg", lambda lr: gdx.dowg(lr), 1.0, needs_params=True),
    Case("mechanize_adam", lambda lr: gdx.mechanize(gdx.adam(lr)), 1.0, needs_params=True),
    # momo and momo_adam need `value=` (the loss) in every update.
    Case("momo", lambda lr: gdx.momo(lr), 1.0, needs_params=True, extra_args=with_value),
    Case("momo_adam", lambda lr: gdx.momo_adam(lr), 0.1, needs_params=True, extra_args=with_value),
    # (end contrib-lr-free)
    # (begin contrib-rest)
    Case("madgrad", lambda lr: gdx.madgrad(lr), 0.01, needs_params=True),
    Case("acprop", lambda lr: gdx.acprop(lr), 0.01),
    Case("galore", lambda lr: gdx.galore(lr, rank=1, update_proj_gap=5), 0.05),
    Case("sophia", lambda lr: gdx.sophia(lr), 0.05, needs_params=True, extra_args=with_obj_fn),
    # dpsgd takes per-example grads: here a batch of one example; no noise and a clip bound the
    # quadratic's gradients never reach, so it is SGD and the numbers are deterministic.
    Case(
        "dpsgd",
        lambda lr: gdx.dpsgd(lr, l2_norm_clip=1e3, noise_multiplier=0.0, seed=0),
        0.009,
        has_leaf_state=False,
        per_example=True,
    ),
    # (end contrib-rest)
    # (begin shampoo-soap)
    Case("shampoo", lambda lr: gdx.shampoo(lr), 0.002),
    Case("soap", lambda lr: gdx.soap(lr), 0.02, needs_params=True),
    # (end shampoo-soap)
]
IDS = [case.name for case in CASES]
# The cases whose update takes only (grads, state, params): the suites that reuse the contract's
# cases (precision, reliability, distributed) call `tx.update` directly and run these.
PLAIN_CASES = [case for case in CASES if case.extra_args is None and not case.per_example]
PLAIN_IDS = [case.name for case in PLAIN_CASES]

# Curvatures 1 .. 100: condition number 100.
CURVATURE = {"w": jnp.array([1.0, 10.0, 100.0]), "b": jnp.array(3.0)}


def quadratic_loss(params):
    return sum(0.5 * jnp.sum(CURVATURE[k] * params[k] ** 2) for k in params)


def quadratic_params():
    # Explicit dtypes: `jnp.array(0.3)` would be weakly typed, and the strongly typed
    # params coming out of the first step would then recompile (gdx or optax alike).
    return {"w": jnp.array([1.0, -2.0, 0.5], jnp.float32), "b": jnp.array(0.3, jnp.float32)}


def mixed_params():
    return {
        "w": jnp.array([1.0, -2.0, 0.5], jnp.float32),
        "b": jnp.array(0.3, jnp.float32),
        "emb": jnp.ones((2, 3), jnp.bfloat16),
    }


def any_loss(params):
    """A float32 loss of any params tree (the extra-arguments loss where the quadratic does not fit)."""
    return sum(0.5 * jnp.sum(jnp.square(x.astype(jnp.float32))) for x in jax.tree.leaves(params))


def call_update(case, tx, grads, state, params=None, loss_fn=any_loss):
    """`tx.update` with what `case` needs: per-example grads, `value=`/`obj_fn=` from `loss_fn`."""
    if case.per_example:
        grads = jax.tree.map(lambda g: g[None], grads)
    extra = case.extra_args(loss_fn, params) if case.extra_args is not None else {}
    return tx.update(grads, state, params, **extra)


def train_step(case, tx):
    def step(params, state):
        grads = jax.grad(quadratic_loss)(params)
        updates, state = call_update(case, tx, grads, state, params, quadratic_loss)
        return gdx.apply_updates(params, updates), state

    return step


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jit_does_not_recompile_between_steps(case):
    traces = []
    tx = case.make(0.01)

    def step(params, state):
        traces.append(1)  # runs only while tracing
        return train_step(case, tx)(params, state)

    step = jax.jit(step, donate_argnums=(0, 1))
    params = quadratic_params()
    state = tx.init(params)
    for _ in range(4):
        params, state = step(params, state)
    assert len(traces) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_dtypes_preserved_and_state_is_a_pytree_of_arrays(case):
    tx = case.make(0.01)
    params = mixed_params()
    state = tx.init(params)
    grads = jax.tree.map(jnp.ones_like, params)
    updates, new_state = jax.jit(lambda g, s, p: call_update(case, tx, g, s, p))(grads, state, params)
    for grad, update in zip(jax.tree.leaves(grads), jax.tree.leaves(updates)):
        assert update.dtype == grad.dtype
    new_params = gdx.apply_updates(params, updates)
    for old, new in zip(jax.tree.leaves(params), jax.tree.leaves(new_params)):
        assert new.dtype == old.dtype
    for tree in (state, new_state):
        for leaf in jax.tree.leaves(tree):
            assert isinstance(leaf, jax.Array), f"state leaf {leaf!r} is not a jax.Array"
    # Same structure and dtypes after a step (a changed state would recompile a jitted loop).
    assert jax.tree.structure(state) == jax.tree.structure(new_state)
    for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        assert before.dtype == after.dtype and before.shape == after.shape
    # State survives tree_map (e.g. device_put, checkpoint restore).
    copied = jax.tree.map(lambda x: x, new_state)
    assert jax.tree.structure(copied) == jax.tree.structure(new_state)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reduces_ill_conditioned_quadratic_100x(case):
    tx = case.make(case.quadratic_lr)
    params = quadratic_params()

    @jax.jit
    def run(params):
        def body(carry, _):
            return train_step(case, tx)(*carry), None

        (params, _), _ = jax.lax.scan(body, (params, tx.init(params)), None, length=300)
        return params

    initial, final = quadratic_loss(params), quadratic_loss(run(params))
    assert bool(jnp.isfinite(final))
    assert float(final) < float(initial) / 100, f"{case.name}: {float(initial)} -> {float(final)}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_over_a_batch_of_params_equals_per_example_runs(case):
    tx = case.make(0.01)
    batch = {"w": jnp.arange(12.0).reshape(4, 3) / 10 - 0.5, "b": jnp.linspace(-1.0, 1.0, 4)}

    def two_steps(params):
        state = tx.init(params)
        for _ in range(2):
            params, state = train_step(case, tx)(params, state)
        return params

    batched = jax.jit(jax.vmap(two_steps))(batch)
    for i in range(4):
        single = two_steps(jax.tree.map(lambda x, i=i: x[i], batch))
        for got, expected in zip(jax.tree.leaves(batched), jax.tree.leaves(single)):
            np.testing.assert_allclose(got[i], expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pmap_with_averaged_gradients_equals_full_batch_step(case):
    devices = jax.local_device_count()
    tx = case.make(0.01)
    params = quadratic_params()
    targets = jnp.linspace(-1.0, 1.0, devices * 2).reshape(devices, 2)

    def loss(params, target):
        return quadratic_loss(jax.tree.map(lambda p: p - jnp.mean(target), params))

    def step(params, state, target):
        grads = jax.lax.pmean(jax.grad(loss)(params, target), "data")
        loss_fn = lambda p: jax.lax.pmean(loss(p, target), "data")  # noqa: E731
        updates, state = call_update(case, tx, grads, state, params, loss_fn)
        return gdx.apply_updates(params, updates), state

    replicate = lambda tree: jax.tree.map(lambda x: jnp.broadcast_to(x, (devices, *x.shape)), tree)  # noqa: E731
    new_params, _ = jax.pmap(step, axis_name="data")(replicate(params), replicate(tx.init(params)), targets)

    full_grads = jax.tree.map(
        lambda *g: sum(g) / devices, *[jax.grad(loss)(params, targets[i]) for i in range(devices)]
    )
    full_loss = lambda p: sum(loss(p, targets[i]) for i in range(devices)) / devices  # noqa: E731
    updates, _ = call_update(case, tx, full_grads, tx.init(params), params, full_loss)
    expected = gdx.apply_updates(params, updates)
    for got, want in zip(jax.tree.leaves(new_params), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got[0], got[-1])


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("bad_lr", [-0.1, float("nan"), float("inf")])
def test_rejects_negative_or_non_finite_learning_rate(case, bad_lr):
    with pytest.raises(ValueError, match="learning_rate"):
        case.make(bad_lr)


# Cases whose params move at learning rate 0 in optax too (gdx keeps optax's rule): lr 0 is
# still accepted by them (test_rejects_... above does not list 0).
MOVES_AT_LR_ZERO = {
    "adafactor_momentum_decay": "optax's adafactor adds weight_decay_rate * params after the lr scaling",
    "madgrad": "optax's madgrad steps with (learning_rate + eps), so eps moves params at lr 0",
}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_learning_rate_of_zero_is_legal_and_leaves_params_unchanged(case):
    # optax and torch.optim accept 0 (warmup from 0, frozen groups, evaluation-only steps).
    tx = case.make(0.0)
    params = quadratic_params()
    state = tx.init(params)
    new_params = params
    for _ in range(3):
        new_params, state = train_step(case, tx)(new_params, state)
    inexact = [x for x in jax.tree.leaves((new_params, state)) if jnp.issubdtype(x.dtype, jnp.inexact)]
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in inexact)
    if case.name not in MOVES_AT_LR_ZERO:
        for before, after in zip(jax.tree.leaves(params), jax.tree.leaves(new_params)):
            np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_accepts_a_schedule_and_a_traced_learning_rate(case):
    params = quadratic_params()
    schedule = lambda count: 0.01 / (1 + count.astype(jnp.float32))  # noqa: E731
    if case.takes_schedule:
        scheduled = case.make(schedule)  # type: ignore[arg-type]
        train_step(case, scheduled)(params, scheduled.init(params))
    else:
        with pytest.raises((TypeError, ValueError), match="schedule"):
            case.make(schedule)  # type: ignore[arg-type]

    @jax.jit
    def with_traced_lr(lr):
        tx = case.make(lr)
        return train_step(case, tx)(params, tx.init(params))[0]

    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(with_traced_lr(0.01)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_])
def test_rejects_integer_and_boolean_params(case, dtype):
    params = {"w": jnp.ones(3), "step": jnp.zeros(2, dtype)}
    with pytest.raises(TypeError, match=r"\['step'\]"):
        case.make(0.01).init(params)


@pytest.mark.parametrize("case", [c for c in CASES if c.needs_params], ids=lambda c: c.name)
def test_missing_params_is_a_clear_error(case):
    tx = case.make(0.01)
    params = {"w": jnp.ones(3)}
    with pytest.raises(ValueError, match="params"):
        call_update(case, tx, params, tx.init(params))


@pytest.mark.parametrize("case", [c for c in CASES if c.has_leaf_state], ids=lambda c: c.name)
def test_grads_tree_mismatch_names_the_first_differing_path(case):
    tx = case.make(0.01)
    params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
    state = tx.init(params)
    wrong_structure = {"dense": {"kernel": jnp.ones((2, 2)), "scale": jnp.ones(2)}}
    with pytest.raises(ValueError, match="bias|scale"):
        call_update(case, tx, wrong_structure, state, params)
    wrong_shape = {"dense": {"kernel": jnp.ones((3, 2)), "bias": jnp.ones(2)}}
    with pytest.raises(ValueError, match="kernel"):
        call_update(case, tx, wrong_shape, state, params)


BAD_HYPERPARAMETERS = [
    (gdx_name, argument, value)
    for gdx_name, arguments in {
        "sgd": {"momentum": [-0.1, 1.0]},
        "adagrad": {"eps": [-1e-7], "initial_accumulator_value": [-0.1]},
        "rmsprop": {"decay": [-0.1, 1.0], "eps": [-1e-8], "momentum": [1.5]},
        "adam": {"b1": [-0.1, 1.0], "b2": [1.0, 2.0], "eps": [-1e-8], "eps_root": [-1.0]},
        "adamw": {"b1": [1.0], "b2": [-0.5], "eps": [-1e-8], "weight_decay": [-1e-4]},
        "nadam": {"b1": [1.0], "b2": [1.0], "eps": [-1.0]},
        "nadamw": {"b1": [1.0], "weight_decay": [-1.0]},
        "adamax": {"b1": [1.0], "b2": [1.0], "eps": [-1.0]},
        "adamaxw": {"b1": [1.0], "weight_decay": [-1.0]},
        "amsgrad": {"b1": [1.0], "b2": [1.0], "eps": [-1.0]},
        "lion": {"b1": [1.0, -0.1], "b2": [1.0], "weight_decay": [-1.0]},
        "lamb": {"b1": [1.0], "b2": [1.0], "eps": [-1.0], "weight_decay": [-1.0]},
        "lars": {"momentum": [1.0], "weight_decay": [-1.0], "eps": [-1.0]},
    }.items()
    for argument, values in arguments.items()
    for value in values
]


@pytest.mark.parametrize(("gdx_name", "argument", "value"), BAD_HYPERPARAMETERS)
def test_rejects_bad_hyperparameters_naming_the_argument(gdx_name, argument, value):
    with pytest.raises(ValueError, match=argument):
        getattr(gdx, gdx_name)(0.01, **{argument: value})


@pytest.mark.parametrize("max_norm", [0.0, -1.0])
def test_clip_by_global_norm_rejects_non_positive_max_norm(max_norm):
    with pytest.raises(ValueError, match="max_norm"):
        gdx.clip_by_global_norm(max_norm)


def test_low_level_scale_accepts_any_sign():
    updates, _ = gdx.scale(-2.0).update({"w": jnp.ones(2)}, gdx.EmptyState())
    np.testing.assert_array_equal(updates["w"], -2.0 * np.ones(2))


# Public functions of the package face that are not named optimizers although they are defined
# in gdx/optimizers or take a learning rate. Each entry says why it has no contract case.
NOT_NAMED_OPTIMIZERS = {
    "hutchinson_estimator_diag_hessian": "a building block of sophia (a Hessian-diagonal estimate)",
    "schedule_free_eval_params": "a helper reading the evaluation params out of a schedule_free state",
}


def named_optimizers() -> set[str]:
    """Every named optimizer of `gdx` and `gdx.contrib`.

    A named optimizer is a public function, not a `scale_by_*` building block, that is defined in
    a `gdx.optimizers` module or takes `learning_rate` (or `max_learning_rate`): the second rule
    finds the recipes that still live in gdx/transforms.
    """
    import gdx.contrib

    names = set()
    for namespace in (gdx, gdx.contrib):
        for name in dir(namespace):
            obj = getattr(namespace, name)
            if name.startswith("_") or not inspect.isfunction(obj) or name in NOT_NAMED_OPTIMIZERS:
                continue
            parameters = inspect.signature(obj).parameters
            takes_lr = "learning_rate" in parameters or "max_learning_rate" in parameters
            if not name.startswith("scale_by_") and (obj.__module__.startswith("gdx.optimizers") or takes_lr):
                names.add(name)
    return names


def test_every_named_optimizer_has_a_contract_case():
    named = named_optimizers()
    missing = named - {case.covers for case in CASES}
    assert not missing, (
        f"named optimizers without a contract case in tests/test_contract.py: {sorted(missing)}"
    )
    assert len(named) >= 50  # the enumeration itself still finds the optimizers


def test_every_exempt_name_still_exists():
    import gdx.contrib

    stale = [
        name for name in NOT_NAMED_OPTIMIZERS if not hasattr(gdx, name) and not hasattr(gdx.contrib, name)
    ]
    assert not stale, f"drop these from NOT_NAMED_OPTIMIZERS: {stale}"
