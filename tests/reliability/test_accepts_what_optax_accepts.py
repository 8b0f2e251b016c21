"""What optax accepts, gdx accepts (issue 20): a learning rate of 0, injected hyperparameters as
data, Python numbers and bools in states, and optax's exception types where its tests check them.

Reference optax calls run under standard promotion (tests.parity.harness.optax_promotion).
"""

import inspect
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
import gdx.contrib
from tests.parity.harness import optax_promotion


def params_f32():
    return {
        "w": jnp.array([[1.0, -2.0, 0.5], [0.3, 0.2, -0.1]], jnp.float32),
        "b": jnp.array([0.5, -1.0, 2.0]),
    }


def loss(params):
    return sum(jnp.sum((leaf - 0.25) ** 2) for leaf in jax.tree.leaves(params))


def assert_trees_equal(got, expected):
    assert jax.tree.structure(got) == jax.tree.structure(expected)
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(got), jax.tree.leaves(expected)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=jax.tree_util.keystr(path))


def train(library, tx, steps=3, jit=False, params=None):
    """`steps` steps of `tx` on `loss`; optax's runs under standard promotion."""
    params = params_f32() if params is None else params

    def run():
        p, state = params, tx.init(params)
        update = jax.jit(tx.update) if jit else tx.update
        for _ in range(steps):
            updates, state = update(jax.grad(loss)(p), state, p)
            p = library.apply_updates(p, updates)
        return p, state

    if library is optax:
        with optax_promotion():
            return run()
    return run()


# --- a learning rate of 0 -----------------------------------------------------------------------

# Values the required arguments of the swept factories get (learning_rate itself is swept).
REQUIRED = {"l2_norm_clip": 1.0, "noise_multiplier": 0.0, "seed": 0, "base_optimizer": gdx.sgd(0.1)}


def _factories_with_a_learning_rate():
    found = []
    for name in sorted(dir(gdx)):
        factory = getattr(gdx, name)
        if name.startswith("_") or not inspect.isfunction(factory):
            continue
        parameters = inspect.signature(factory).parameters
        if "learning_rate" not in parameters:
            continue
        required = [
            p
            for p, q in parameters.items()
            if q.default is inspect.Parameter.empty and q.kind not in (q.VAR_KEYWORD, q.VAR_POSITIONAL)
        ]
        if all(p == "learning_rate" or p in REQUIRED for p in required):
            found.append((name, {p: REQUIRED[p] for p in required if p in REQUIRED}))
    return found


WITH_LEARNING_RATE = _factories_with_a_learning_rate()


def test_the_learning_rate_sweep_covers_the_catalog():
    assert len(WITH_LEARNING_RATE) >= 50


@pytest.mark.parametrize(("name", "base"), WITH_LEARNING_RATE, ids=[name for name, _ in WITH_LEARNING_RATE])
def test_every_factory_accepts_a_learning_rate_of_zero_and_rejects_negative_or_non_finite(name, base):
    factory = getattr(gdx, name)
    factory(**base, learning_rate=0.0)
    factory(**base, learning_rate=0)
    # The low-level scale_by_learning_rate takes any finite sign, as optax's (flip_sign does the rest).
    for bad in (math.nan, math.inf) if name == "scale_by_learning_rate" else (-1e-3, math.nan, math.inf):
        with pytest.raises(ValueError, match=rf"{name}: learning_rate must be"):
            factory(**base, learning_rate=bad)


@pytest.mark.parametrize(
    "build",
    [
        lambda lib: lib.lars(0.1, trust_coefficient=0.0),
        lambda lib: lib.polyak_sgd(max_learning_rate=0.0),
        lambda lib: lib.polyak_sgd(scaling=0.0),
        lambda lib: lib.scale_by_polyak(max_learning_rate=0.0),
        lambda lib: lib.contrib.muon(0.1, adam_learning_rate=0.0),
        lambda lib: lib.scale_by_learning_rate(0.0),
        lambda lib: lib.scale_by_rprop(0.0),
    ],
    ids=[
        "lars.trust_coefficient",
        "polyak_sgd.max_learning_rate",
        "polyak_sgd.scaling",
        "scale_by_polyak",
        "muon",
        "scale_by_learning_rate",
        "scale_by_rprop",
    ],
)
def test_other_step_size_multipliers_accept_zero_as_optax(build):
    build(optax)
    build(gdx)


@pytest.mark.parametrize(
    "build",
    [
        lambda lib: lib.clip_by_global_norm(0.0),  # optax: 0/0 = NaN for an all-zero gradient
        lambda lib: lib.clip_by_block_rms(0.0),  # optax: rms/0, NaN for a zero block
        lambda lib: lib.scale_by_adadelta(eps=0.0),  # the step starts at sqrt(0 + eps) = 0: never moves
        lambda lib: lib.exponential_decay(1.0, 10, 0.0),  # optax's docstring: "must not be zero"
    ],
    ids=["clip_by_global_norm", "clip_by_block_rms", "adadelta.eps", "exponential_decay.decay_rate"],
)
def test_zero_stays_rejected_where_it_is_meaningless(build):
    with pytest.raises(ValueError, match="must be > 0"):
        build(gdx)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.adam(lib.warmup_cosine_decay_schedule(0.0, 1e-2, 10, 100)),
        lambda lib: lib.sgd(lib.linear_schedule(0.0, 0.1, 5), momentum=0.9),
        lambda lib: lib.adamw(lib.piecewise_constant_schedule(0.0, {1: 1e10})),
    ],
    ids=["adam-warmup", "sgd-linear", "adamw-piecewise"],
)
def test_a_schedule_that_is_zero_at_the_first_step_leaves_the_params_there(make, jit):
    params = params_f32()
    got, _ = train(gdx, make(gdx), steps=1, jit=jit)
    assert_trees_equal(got, params)
    got, _ = train(gdx, make(gdx), steps=3, jit=jit)
    expected, _ = train(optax, make(optax), steps=3, jit=jit)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        assert bool(jnp.all(jnp.isfinite(a)))
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_schedule_free_with_learning_rate_zero_as_optax_tests_it():
    # optax's contrib/_schedule_free_test.py: schedule_free(sgd(0.0), learning_rate=0.0).
    tx = gdx.contrib.schedule_free(gdx.sgd(learning_rate=0.0, momentum=0.0), learning_rate=0.0)
    params = params_f32()
    got, state = train(gdx, tx)
    assert_trees_equal(got, params)
    assert_trees_equal(gdx.contrib.schedule_free_eval_params(state, got), params)


# --- inject_hyperparams: constants validated once, injected values are data -------------------


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_inject_hyperparams_with_a_schedule_from_zero_runs_eager_and_jitted(jit):
    # The reproduction: `init` raised outside jit (the schedule's 0 was validated).
    params = params_f32()
    tx = gdx.inject_hyperparams(gdx.adamw)(learning_rate=gdx.warmup_cosine_decay_schedule(0.0, 1e-3, 10, 100))
    state = jax.jit(tx.init)(params) if jit else tx.init(params)
    assert float(state.hyperparams["learning_rate"]) == 0.0
    got, _ = train(gdx, tx, jit=jit)
    ref = optax.inject_hyperparams(optax.adamw)(
        learning_rate=optax.warmup_cosine_decay_schedule(0.0, 1e-3, 10, 100)
    )
    expected, _ = train(optax, ref, jit=jit)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_inject_hyperparams_never_validates_a_schedules_output():
    # A schedule's value is data: an eager step computes what a jitted one computes (here a
    # learning rate that turns negative, i.e. gradient ascent), whichever value it takes.
    def schedule(count):
        return jnp.where(count < 1, 0.1, -0.1).astype(jnp.float32)

    tx = gdx.inject_hyperparams(gdx.sgd)(learning_rate=schedule, momentum=0.5)
    eager, eager_state = train(gdx, tx)
    jitted, _ = train(gdx, tx, jit=True)
    assert float(eager_state.hyperparams["learning_rate"]) == np.float32(-0.1)
    for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_inject_hyperparams_validates_constants_once_when_built():
    with pytest.raises(ValueError, match=r"^adamw: learning_rate must be >= 0, got -0.1$"):
        gdx.inject_hyperparams(gdx.adamw)(learning_rate=-0.1)
    with pytest.raises(ValueError, match=r"^adam: b1 must be in \[0, 1\), got 1.5$"):
        gdx.inject_hyperparams(gdx.adam)(learning_rate=gdx.constant_schedule(1e-3), b1=1.5)
    with pytest.raises(TypeError, match="weight_decay must be a real number"):
        gdx.inject_hyperparams(gdx.adamw)(learning_rate=1e-3, weight_decay="0.1")
    # A scheduled hyperparameter is not a constant: only its output is data.
    gdx.inject_hyperparams(gdx.adam)(learning_rate=1e-3, b1=lambda count: 0.9 + 0 * count)


def test_inject_hyperparams_under_flax_nnx_optimizer_which_inits_eagerly():
    nnx = pytest.importorskip("flax.nnx")

    def train_nnx(library):
        model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
        schedule = library.warmup_cosine_decay_schedule(0.0, 1e-2, 2, 20)
        tx = library.inject_hyperparams(library.adamw)(learning_rate=schedule, weight_decay=1e-2)
        optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
        x = jnp.linspace(-1.0, 1.0, 12, dtype=jnp.float32).reshape(4, 3)

        @nnx.jit
        def step(model, optimizer):
            grads = nnx.grad(lambda m: jnp.mean(m(x) ** 2))(model)
            optimizer.update(model, grads)

        for _ in range(4):
            step(model, optimizer)
        return nnx.to_pure_dict(nnx.state(model, nnx.Param))

    got = train_nnx(gdx)
    with optax_promotion():
        expected = train_nnx(optax)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# --- Python numbers and bools in states ------------------------------------------------------


def kernel_mask(params):
    return jax.tree.map(lambda leaf: leaf.ndim > 1, params)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_multisteps_over_inject_hyperparams_with_a_callable_mask(jit):
    # inject_hyperparams takes the callable mask for a schedule and stores its value on a count,
    # a Python False, in the state (as optax does); MultiSteps used to call .astype on it.
    def make(lib):
        inner = lib.inject_hyperparams(lib.adamw)(learning_rate=1e-2, weight_decay=0.1, mask=kernel_mask)
        return lib.MultiSteps(inner, every_k_schedule=2)

    got, state = train(gdx, make(gdx), steps=4, jit=jit)
    expected, _ = train(optax, make(optax), steps=4, jit=jit)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not bool(state.inner_opt_state.hyperparams["mask"])


class FlagState(NamedTuple):
    """A user transformation's state with a Python bool and a Python float, as optax allows."""

    enabled: bool
    factor: float


def flagged_scale():
    def init(params):
        del params
        return FlagState(enabled=True, factor=1.0)

    def update(updates, state, params=None):
        del params
        return updates, state

    return optax.GradientTransformation(init, update)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_lookahead_reset_state_with_python_scalars_in_the_fast_state(jit):
    def train_lookahead(lib):
        def go():
            params = lib.LookaheadParams.init_synced(params_f32())
            tx = lib.lookahead(
                lib.chain(lib.sgd(0.1, momentum=0.9), flagged_scale()), 2, 0.5, reset_state=True
            )
            state = tx.init(params)
            update = jax.jit(tx.update) if jit else tx.update
            for _ in range(5):
                updates, state = update(jax.grad(loss)(params.fast), state, params)
                params = lib.apply_updates(params, updates)
            return params

        if lib is optax:
            with optax_promotion():
                return go()
        return go()

    got, expected = train_lookahead(gdx), train_lookahead(optax)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.lbfgs(),
        lambda lib: lib.chain(lib.sgd(1.0), lib.scale_by_zoom_linesearch(10)),
        lambda lib: lib.chain(lib.sgd(1.0), lib.scale_by_backtracking_linesearch(10, store_grad=True)),
    ],
    ids=["lbfgs", "zoom", "backtracking"],
)
def test_line_searches_accept_python_numbers_set_in_their_state(make, jit):
    # optax's recipes reset the line search's step with tree_set(state, learning_rate=1.0),
    # and value_and_grad_from_state reads a value that may be a Python number.
    def run(lib):
        params = params_f32()
        tx = make(lib)
        state = tx.init(params)
        value_and_grad = lib.value_and_grad_from_state(loss)
        update = jax.jit(tx.update, static_argnames="value_fn") if jit else tx.update
        for step in range(4):
            state = optax.tree_utils.tree_set(state, learning_rate=1.0)
            if step == 2:
                state = optax.tree_utils.tree_set(state, value=float(loss(params)))
            value, grad = value_and_grad(params, state=state)
            updates, state = update(grad, state, params, value=value, grad=grad, value_fn=loss)
            params = lib.apply_updates(params, updates)
        return params

    got = run(gdx)
    with optax_promotion():
        expected = run(optax)
    assert_trees_equal(got, expected)


def test_zoom_linesearch_accepts_an_objective_returning_a_python_number():
    params = params_f32()
    tx = gdx.scale_by_zoom_linesearch(5)
    updates, state = tx.update(
        jax.tree.map(jnp.negative, params),
        tx.init(params),
        params,
        value=1.0,
        grad=params,
        value_fn=lambda p: 1.0,
    )
    assert state.value.dtype == jnp.float32
    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))


# --- optax's exception types --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.bool_, jnp.complex64])
def test_safe_increment_of_a_bool_or_complex_count_raises_value_error_as_optax(dtype):
    with pytest.raises(ValueError, match="safe_increment: count must be an integer or float"):
        gdx.safe_increment(jnp.asarray(1, dtype))
    with pytest.raises(ValueError):
        optax.safe_increment(jnp.asarray(1, dtype))


def test_scale_by_polyak_without_value_raises_type_error_as_optax():
    params = params_f32()
    for lib in (gdx, optax):
        tx = lib.scale_by_polyak()
        with pytest.raises(TypeError, match="value"):
            tx.update(params, tx.init(params), params)


NEEDS_VALUE = {"momo", "momo_adam", "polyak_sgd"}
# Factories whose arguments cannot all be injected (optax's too): lbfgs's line search reads its
# objective's extra arguments, dpsgd's seed builds a key, schedule_free's base optimizer is a transformation.
NOT_INJECTABLE = {"lbfgs", "dpsgd", "schedule_free", "galore", "shampoo", "soap"}
INJECTABLE = [(name, base) for name, base in WITH_LEARNING_RATE if name not in NOT_INJECTABLE]


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize(("name", "base"), INJECTABLE, ids=[name for name, _ in INJECTABLE])
def test_inject_hyperparams_over_every_factory_gives_the_factorys_update(name, base, jit):
    # The inner factory is rebuilt at every step with the injected values read as data (as under
    # jit): its internal constants must still count as numbers (optimistic_adam's did not).
    factory = getattr(gdx, name)
    params = params_f32()
    grads = jax.grad(loss)(params)
    extra = {"value": loss(params)} if name in NEEDS_VALUE else {}
    if name == "sophia":
        extra = {"obj_fn": loss}
    plain = factory(**base, learning_rate=0.01)
    # As in optax's alias_test: adafactor's factoring size is static; adopt's clip function is
    # not a schedule.
    static_args = {"adafactor": "min_dim_size_to_factor", "adopt": "clip_value_fn"}.get(name, ())
    injected = gdx.inject_hyperparams(factory, static_args=static_args)(**base, learning_rate=0.01)
    maybe_jit = jax.jit if jit else (lambda f: f)

    def one_step(tx):
        step = maybe_jit(lambda g, s, p: tx.update(g, s, p, **extra))
        return step(grads, maybe_jit(tx.init)(params), params)[0]

    expected, got = one_step(plain), one_step(injected)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
