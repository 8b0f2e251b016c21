"""Behaviour of the wrappers and combinators beyond optax parity.

Laws (hypothesis), extra arguments forwarded through every wrapper, regex
partition rules, inject_hyperparams without recompilation and with stable
dtypes, gradient accumulation = one big batch, NaN-free inner state under
apply_if_finite, lookahead's rule, ema_params and reset_substate.
"""

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdx

PARAMS = {"w": jnp.arange(6.0).reshape(2, 3) - 2.0, "b": jnp.array([0.5, -1.0, 2.0])}
GRADS = {"w": jnp.full((2, 3), 0.25), "b": jnp.array([1.0, -2.0, 3.0])}

# A fixed pool of trees: every new shape recompiles, so hypothesis varies values and step counts.
TREES = [
    {"p0": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3)},
    {"p0": jnp.array(0.5, jnp.float32), "p1": jnp.linspace(-2.0, 1.0, 3)},
    {"p0": jnp.linspace(-1.0, 1.0, 3), "p1": {"q": jnp.linspace(0.0, 3.0, 6).reshape(3, 2)}},
]
trees = st.sampled_from(TREES)
seeds = st.floats(0.5, 3.0)


def assert_trees_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert jnp.result_type(x) == jnp.result_type(y)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def assert_trees_close(a, b):
    """Parity tolerance: a wrapper that runs its inner update inside `lax.cond` (or on one
    long vector) compiles differently from the bare transformation (last-bit differences)."""
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert jnp.result_type(x) == jnp.result_type(y)
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-7)


def run(tx, steps=3, params=PARAMS, grads=GRADS, **extra_args):
    state = tx.init(params)
    for _ in range(steps):
        updates, state = tx.update(grads, state, params, **extra_args)
    return updates, state


def grads_for(params, step, seed=1.0):
    return jax.tree.map(lambda p: jnp.cos(p * (step + seed)), params)


# --- laws ------------------------------------------------------------------------------------


ADAM = gdx.adam(0.1)
ADAM_UPDATE = jax.jit(ADAM.update)
SINGLE_LABEL = gdx.partition({"all": ADAM}, lambda p: jax.tree.map(lambda _: "all", p))
SINGLE_LABEL_UPDATE = jax.jit(SINGLE_LABEL.update)
MULTI_STEPS_1 = {mean: gdx.MultiSteps(ADAM, every_k_schedule=1, use_grad_mean=mean) for mean in (True, False)}
MULTI_STEPS_1_UPDATE = {mean: jax.jit(multi.update) for mean, multi in MULTI_STEPS_1.items()}
FLAT_ADAM = gdx.flatten(ADAM)
FLAT_ADAM_UPDATE = jax.jit(FLAT_ADAM.update)


@settings(max_examples=15, deadline=None)
@given(params=trees, steps=st.integers(1, 3), seed=seeds)
def test_partition_with_a_single_label_equals_the_inner_transform(params, steps, seed):
    state, wrapped_state = ADAM.init(params), SINGLE_LABEL.init(params)
    for step in range(steps):
        grads = grads_for(params, step, seed)
        expected, state = ADAM_UPDATE(grads, state, params)
        got, wrapped_state = SINGLE_LABEL_UPDATE(grads, wrapped_state, params)
        assert_trees_equal(got, expected)
    assert_trees_equal(wrapped_state.inner_states["all"].inner_state, state)


@settings(max_examples=15, deadline=None)
@given(params=trees, steps=st.integers(1, 3), use_grad_mean=st.booleans(), seed=seeds)
def test_multi_steps_with_k_1_equals_the_inner_transform(params, steps, use_grad_mean, seed):
    multi, multi_update = MULTI_STEPS_1[use_grad_mean], MULTI_STEPS_1_UPDATE[use_grad_mean]
    state, wrapped_state = ADAM.init(params), multi.init(params)
    for step in range(steps):
        grads = grads_for(params, step, seed)
        expected, state = ADAM_UPDATE(grads, state, params)
        got, wrapped_state = multi_update(grads, wrapped_state, params)
        assert_trees_close(got, expected)
        assert bool(multi.has_updated(wrapped_state))
    assert_trees_close(wrapped_state.inner_opt_state, state)


@settings(max_examples=10, deadline=None)
@given(params=trees, seed=seeds)
def test_flatten_of_an_elementwise_transform_equals_the_transform(params, seed):
    state, flat_state = ADAM.init(params), FLAT_ADAM.init(params)
    for step in range(2):
        grads = grads_for(params, step, seed)
        expected, state = ADAM_UPDATE(grads, state, params)
        got, flat_state = FLAT_ADAM_UPDATE(grads, flat_state, params)
        # Vectorised loops over the long flat vector may round the last bit differently.
        assert_trees_close(got, expected)


# --- extra arguments reach the inner transformation through every wrapper ----------------------


def scale_by_value():
    """`u <- value * u`: fails unless the extra argument `value` arrives."""

    def init(params):
        del params
        return gdx.EmptyState()

    def update(updates, state, params=None, *, value, **extra_args):
        return jax.tree.map(lambda u: u * jnp.asarray(value, u.dtype), updates), state

    return gdx.GradientTransformation(init, update)


def value_factory(learning_rate):
    return gdx.chain(scale_by_value(), gdx.scale(learning_rate))


WRAPPERS = {
    "partition": lambda tx: gdx.partition(
        {"a": tx, "b": gdx.chain(tx, gdx.scale(1.0))}, {"w": "a", "b": "b"}
    ),
    "partition_rules": lambda tx: gdx.partition({"a": tx}, [(".*", "a")]),
    "selective_transform": lambda tx: gdx.selective_transform(tx, freeze_mask={"w": False, "b": True}),
    "inject_hyperparams": lambda tx: gdx.inject_hyperparams(value_factory)(learning_rate=1.0),
    "MultiSteps": lambda tx: gdx.MultiSteps(tx, 1).gradient_transformation(),
    "apply_if_finite": lambda tx: gdx.apply_if_finite(tx, 2),
    "conditionally_mask": lambda tx: gdx.conditionally_mask(tx, lambda step: step >= 0),
    "conditionally_transform": lambda tx: gdx.conditionally_transform(tx, lambda step: step >= 0),
    "conditionally_mask_forwarding": lambda tx: gdx.conditionally_mask(
        tx, lambda step, value: value > 0, forward_extra_args=True
    ),
    "flatten": gdx.flatten,
    "ema_params": lambda tx: gdx.chain(tx, gdx.ema_params(0.9)),
}


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_extra_args_are_forwarded(name):
    tx = WRAPPERS[name](scale_by_value())
    updates, _ = run(tx, steps=1, value=jnp.asarray(3.0))
    frozen_b = name == "selective_transform"
    np.testing.assert_allclose(updates["w"], 3.0 * GRADS["w"])
    np.testing.assert_allclose(updates["b"], 0.0 * GRADS["b"] if frozen_b else 3.0 * GRADS["b"])


def test_extra_args_are_forwarded_by_lookahead_and_under_jit():
    tx = gdx.lookahead(scale_by_value(), sync_period=2, slow_step_size=0.5)
    params = gdx.LookaheadParams.init_synced(PARAMS)
    updates, _ = jax.jit(lambda s, v: tx.update(GRADS, s, params, value=v))(tx.init(params), 2.0)
    np.testing.assert_allclose(updates.fast["w"], 2.0 * GRADS["w"])


# --- partition ---------------------------------------------------------------------------------


def test_partition_rules_first_match_wins_and_use_the_key_path():
    tx = gdx.partition(
        {"frozen": gdx.set_to_zero(), "sgd": gdx.sgd(1.0)}, [(r"\['b'\]", "frozen"), ("w|b", "sgd")]
    )
    updates, state = run(tx, steps=1)
    np.testing.assert_array_equal(updates["b"], 0.0)
    np.testing.assert_array_equal(updates["w"], -GRADS["w"])
    assert set(state.inner_states) == {"frozen", "sgd"}


def test_partition_rules_reject_unmatched_params_listing_them():
    params = {"dense": {"kernel": jnp.ones(2), "bias": jnp.ones(2)}, "norm": jnp.ones(2)}
    tx = gdx.partition({"a": gdx.sgd(0.1)}, [("kernel", "a")])
    with pytest.raises(ValueError, match=re.escape("""["['dense']['bias']", "['norm']"]""")):
        tx.init(params)


def test_partition_rejects_labels_without_a_transformation():
    with pytest.raises(ValueError, match="'c'.*no transformation"):
        gdx.partition({"a": gdx.sgd(0.1)}, {"w": "a", "b": "c"}).init(PARAMS)
    with pytest.raises(ValueError, match="'missing'.*no transformation"):
        gdx.partition({"a": gdx.sgd(0.1)}, [("w", "a"), ("b", "missing")]).init(PARAMS)


def test_a_list_of_label_pairs_is_a_labels_pytree_not_rules():
    params = [(jnp.ones(2), jnp.ones(2))]
    tx = gdx.partition({"a": gdx.sgd(1.0), "b": gdx.set_to_zero()}, [("a", "b")])
    updates, _ = tx.update([(jnp.ones(2), jnp.ones(2))], tx.init(params), params)
    [(first, second)] = updates
    np.testing.assert_array_equal(first, -1.0)
    np.testing.assert_array_equal(second, 0.0)


def test_optax_names_for_partition_are_aliases():
    assert gdx.multi_transform is gdx.partition
    assert gdx.MultiTransformState is gdx.PartitionState


def test_freeze_zeroes_frozen_params_and_selective_transform_keeps_no_state_for_them():
    updates, _ = run(gdx.freeze({"w": True, "b": False}), steps=1)
    np.testing.assert_array_equal(updates["w"], 0.0)
    np.testing.assert_array_equal(updates["b"], GRADS["b"])
    state = gdx.selective_transform(gdx.adam(0.1), freeze_mask={"w": True, "b": False}).init(PARAMS)
    adam_state = state.inner_states["train"].inner_state[0]
    assert isinstance(adam_state.mu["w"], gdx.MaskedNode)
    assert adam_state.mu["b"].shape == (3,)


# --- inject_hyperparams ------------------------------------------------------------------------


def test_changing_an_injected_learning_rate_does_not_recompile():
    tx = gdx.inject_hyperparams(gdx.sgd)(learning_rate=0.1, momentum=0.9)
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = tx.update(GRADS, state, params)
        return gdx.apply_updates(params, updates), state, updates

    params, state = PARAMS, tx.init(PARAMS)
    for learning_rate in [0.1, 0.01, 0.5, 0.0]:
        state.hyperparams["learning_rate"] = jnp.asarray(learning_rate, jnp.float32)
        params, state, updates = step(params, state)
        np.testing.assert_allclose(state.hyperparams["learning_rate"], learning_rate)
    assert len(traces) == 1
    np.testing.assert_array_equal(updates["w"], 0.0)  # the last step used learning_rate=0
    # A Python float is weak-typed: one more compilation, then cached.
    for learning_rate in [0.2, 0.3]:
        state.hyperparams["learning_rate"] = learning_rate
        params, state, updates = step(params, state)
        assert state.hyperparams["learning_rate"].dtype == jnp.float32
    assert len(traces) == 2


def test_injected_hyperparams_stay_float32_with_bfloat16_params_and_updates_stay_bfloat16():
    params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), PARAMS)
    grads = jax.tree.map(lambda g: g.astype(jnp.bfloat16), GRADS)
    tx = gdx.inject_hyperparams(gdx.adam)(learning_rate=gdx.linear_schedule(1e-2, 1e-3, 10), b2=0.999)
    state = tx.init(params)
    assert {k: v.dtype for k, v in state.hyperparams.items()} == dict.fromkeys(
        ["b1", "b2", "eps", "eps_root", "learning_rate"], jnp.float32
    )

    def body(state, _):
        updates, state = tx.update(grads, state, params)
        return state, updates

    # A scan rejects a state whose dtypes change from step to step.
    final_state, updates = jax.lax.scan(body, state, None, length=5)
    assert jax.tree.map(jnp.result_type, final_state) == jax.tree.map(jnp.result_type, state)
    assert all(u.dtype == jnp.bfloat16 for u in jax.tree.leaves(updates))
    # 1 - b2 is 1e-3 in float32; in bfloat16 (optax #1532) 1 - b2 would round to 0.
    assert float(1 - final_state.hyperparams["b2"]) > 0


def test_injected_hyperparams_are_readable_for_logging_and_follow_the_schedule():
    schedule = gdx.linear_schedule(1.0, 0.0, 4)
    tx = gdx.inject_hyperparams(gdx.sgd)(learning_rate=schedule)
    state = tx.init(PARAMS)
    seen = [float(state.hyperparams["learning_rate"])]
    for _ in range(4):
        _, state = tx.update(GRADS, state, PARAMS)
        seen.append(float(state.hyperparams["learning_rate"]))
    # The value in state is the one the last update used (after init: the first step's).
    assert seen == [1.0, 1.0, 0.75, 0.5, 0.25]


class LearningRateFromLoss:
    """A stateful schedule: the learning rate is 0.1 * the loss (`value=`) of the previous step."""

    def init(self):
        return {"last_loss": jnp.asarray(1.0)}

    def update(self, state, *, value, **extra_args):
        return {"last_loss": jnp.asarray(value, jnp.float32)}

    def __call__(self, state, **extra_args):
        return 0.1 * state["last_loss"]


def test_inject_hyperparams_takes_stateful_schedules_fed_by_extra_args():
    tx = gdx.inject_stateful_hyperparams(gdx.sgd)(learning_rate=LearningRateFromLoss())
    state = tx.init(PARAMS)
    updates, state = tx.update(GRADS, state, PARAMS, value=jnp.asarray(4.0))
    np.testing.assert_allclose(updates["b"], -0.1 * GRADS["b"])
    updates, state = tx.update(GRADS, state, PARAMS, value=jnp.asarray(2.0))
    np.testing.assert_allclose(updates["b"], -0.4 * GRADS["b"])
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.4)
    assert float(state.hyperparams_states["learning_rate"]["last_loss"]) == 2.0


def test_inject_hyperparams_dtype_override_and_static_args_validation():
    state = gdx.inject_hyperparams(gdx.sgd, hyperparam_dtype=jnp.bfloat16)(learning_rate=0.1).init(PARAMS)
    assert state.hyperparams["learning_rate"].dtype == jnp.bfloat16
    with pytest.raises(ValueError, match="static_args"):
        gdx.inject_hyperparams(gdx.sgd, static_args="not_an_arg")


def test_inject_hyperparams_matches_optax_hyperparams_layout():
    ours = gdx.inject_hyperparams(gdx.adam)(learning_rate=0.1).init(PARAMS)
    with jax.numpy_dtype_promotion("standard"):
        theirs = optax.inject_hyperparams(optax.adam)(learning_rate=0.1).init(PARAMS)
    assert ours.hyperparams.keys() == theirs.hyperparams.keys()
    assert type(ours).__name__ == type(theirs).__name__ == "InjectStatefulHyperparamsState"


# --- MultiSteps, apply_every -------------------------------------------------------------------


def test_k_accumulated_micro_batches_equal_one_step_on_the_big_batch():
    k, micro = 4, 8
    inputs = jax.random.normal(jax.random.key(0), (3, k * micro, 5))  # 3 big batches
    targets = inputs @ jnp.arange(5.0)

    def loss(params, x, y):
        return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)

    def train_step(tx):
        @jax.jit
        def step(params, state, x, y):
            updates, state = tx.update(jax.grad(loss)(params, x, y), state, params)
            return gdx.apply_updates(params, updates), state

        return step

    params0 = {"w": jnp.zeros(5), "b": jnp.zeros(())}
    for inner in [gdx.adam(0.05), gdx.sgd(0.01, momentum=0.9)]:
        multi = gdx.MultiSteps(inner, every_k_schedule=k)
        big_step, small_step = train_step(inner), train_step(multi)
        big, big_state = params0, inner.init(params0)
        small, small_state = params0, multi.init(params0)
        for batch in range(3):
            big, big_state = big_step(big, big_state, inputs[batch], targets[batch])
            for i in range(k):
                part = slice(i * micro, (i + 1) * micro)
                small, small_state = small_step(small, small_state, inputs[batch, part], targets[batch, part])
                assert bool(multi.has_updated(small_state)) == (i == k - 1)
            for a, b in zip(jax.tree.leaves(small), jax.tree.leaves(big)):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_multi_steps_keeps_exactly_one_accumulator_of_the_params_size():
    inner = gdx.adam(0.1)
    state = gdx.MultiSteps(inner, 4).init(PARAMS)
    assert_trees_equal(state.acc_grads, jax.tree.map(jnp.zeros_like, PARAMS))
    size = lambda tree: sum(x.size for x in jax.tree.leaves(tree))  # noqa: E731
    assert size(state) == size(inner.init(PARAMS)) + size(PARAMS) + 2  # + mini_step, gradient_step


def test_multi_steps_skips_non_finite_mini_steps_without_touching_the_state():
    multi = gdx.MultiSteps(gdx.adam(0.1), 2, should_skip_update_fn=gdx.skip_not_finite)
    update = jax.jit(multi.update)
    state = multi.init(PARAMS)
    _, state = update(GRADS, state, PARAMS)
    bad = {"w": GRADS["w"].at[0, 0].set(jnp.nan), "b": GRADS["b"]}
    updates, skipped = update(bad, state, PARAMS)
    assert_trees_equal(updates, jax.tree.map(jnp.zeros_like, GRADS))
    assert_trees_equal(skipped._replace(skip_state=()), state._replace(skip_state=()))
    assert int(skipped.skip_state["num_not_finite"]) == 1
    updates, state = update(GRADS, skipped, PARAMS)
    assert bool(multi.has_updated(state)) and int(state.gradient_step) == 1


def test_multi_steps_validates_its_arguments():
    with pytest.raises(ValueError, match="every_k_schedule"):
        gdx.MultiSteps(gdx.sgd(0.1), 0)
    constant = gdx.MultiSteps(gdx.sgd(0.1), np.int64(2))  # a NumPy integer is a constant k
    _, state = run(constant.gradient_transformation(), steps=2)
    assert int(state.gradient_step) == 1

    def not_a_bool(updates, step, params):
        return jnp.array(1.0), ()

    with pytest.raises(ValueError, match="scalar bool"):
        run(gdx.MultiSteps(gdx.sgd(0.1), 2, should_skip_update_fn=not_a_bool), steps=1)


def test_multi_steps_accumulates_bfloat16_grads_in_float32():
    params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), PARAMS)
    grads = jax.tree.map(lambda g: g.astype(jnp.bfloat16), GRADS)
    multi = gdx.MultiSteps(gdx.sgd(0.1), 3)
    updates, state = run(multi.gradient_transformation(), steps=3, params=params, grads=grads)
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(state.acc_grads))
    assert all(u.dtype == jnp.bfloat16 for u in jax.tree.leaves(updates))
    np.testing.assert_allclose(np.asarray(updates["b"], np.float32), -0.1 * np.asarray(GRADS["b"]), rtol=1e-2)


def test_apply_every_emits_the_sum_every_k_steps():
    tx = gdx.apply_every(3)
    state = tx.init(PARAMS)
    emitted = []
    for _ in range(6):
        updates, state = tx.update(GRADS, state)
        emitted.append(float(updates["b"][0]))
    assert emitted == [0.0, 0.0, 3.0, 0.0, 0.0, 3.0]
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        gdx.apply_every(0)


# --- apply_if_finite, conditionals -------------------------------------------------------------


def test_apply_if_finite_never_lets_a_nan_into_the_inner_state():
    tx = gdx.apply_if_finite(gdx.adam(0.1), max_consecutive_errors=3)
    nan_grads = {"w": GRADS["w"].at[1, 2].set(jnp.inf), "b": GRADS["b"].at[0].set(jnp.nan)}
    update = jax.jit(tx.update)
    state = tx.init(PARAMS)
    _, state = update(GRADS, state, PARAMS)
    for consecutive in range(1, 4):
        before = state
        updates, state = update(nan_grads, state, PARAMS)
        assert_trees_equal(updates, jax.tree.map(jnp.zeros_like, GRADS))
        assert_trees_equal(state.inner_state, before.inner_state)
        assert int(state.notfinite_count) == consecutive and not bool(state.last_finite)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(state.inner_state))
    _, state = update(GRADS, state, PARAMS)  # a finite step resets the consecutive count
    assert (int(state.notfinite_count), int(state.total_notfinite), bool(state.last_finite)) == (0, 3, True)
    for _ in range(4):  # the 4th consecutive error exceeds the limit: taken anyway, as optax
        updates, state = update(nan_grads, state, PARAMS)
    assert bool(jnp.isnan(updates["b"][0]))


def test_apply_if_finite_keeps_the_inner_state_under_vmap():
    tx = gdx.apply_if_finite(gdx.sgd(0.1, momentum=0.9), max_consecutive_errors=1)
    grads = {"w": jnp.stack([GRADS["w"], GRADS["w"] * jnp.nan]), "b": jnp.stack([GRADS["b"]] * 2)}
    states = jax.vmap(tx.init)(jax.tree.map(lambda p: jnp.stack([p, p]), PARAMS))
    _, states = jax.jit(jax.vmap(tx.update))(grads, states)
    trace = states.inner_state[0].trace
    assert bool(jnp.all(jnp.isfinite(trace["w"]))) and bool(jnp.all(trace["w"][1] == 0))


def test_conditionally_transform_and_mask_leave_the_inner_state_on_skipped_steps():
    for wrapper, skipped_update in [(gdx.conditionally_transform, 1.0), (gdx.conditionally_mask, 0.0)]:
        tx = wrapper(gdx.sgd(1.0, momentum=0.5), lambda step: step % 2 == 1)
        state = tx.init(PARAMS)
        updates, state = tx.update(GRADS, state)  # step 0: skipped
        np.testing.assert_array_equal(updates["b"], skipped_update * GRADS["b"])
        assert_trees_equal(state.inner_state, gdx.sgd(1.0, momentum=0.5).init(PARAMS))
        updates, state = tx.update(GRADS, state)  # step 1: runs
        np.testing.assert_array_equal(updates["b"], -GRADS["b"])
        assert int(state.step) == 2


# --- lookahead ---------------------------------------------------------------------------------


def test_lookahead_follows_the_paper_rule():
    k, alpha, lr = 3, 0.4, 0.1
    tx = gdx.lookahead(gdx.sgd(lr), sync_period=k, slow_step_size=alpha)
    params = gdx.LookaheadParams.init_synced(PARAMS)
    state = tx.init(params)
    fast = PARAMS
    for _ in range(k):
        updates, state = tx.update(GRADS, state, params)
        params = gdx.apply_updates(params, updates)
        fast = jax.tree.map(lambda p, g: p - lr * g, fast, GRADS)
    expected = jax.tree.map(lambda s, f: s + alpha * (f - s), PARAMS, fast)
    for got in (params.slow, params.fast):
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
            np.testing.assert_allclose(a, b, rtol=1e-6)
    assert int(state.steps_since_sync) == 0


def test_lookahead_validates_and_needs_lookahead_params():
    with pytest.raises(ValueError, match="sync_period"):
        gdx.lookahead(gdx.sgd(0.1), sync_period=0, slow_step_size=0.5)
    with pytest.raises(ValueError, match="slow_step_size"):
        gdx.lookahead(gdx.sgd(0.1), sync_period=2, slow_step_size=1.5)
    tx = gdx.lookahead(gdx.sgd(0.1), sync_period=2, slow_step_size=0.5)
    with pytest.raises(ValueError, match="LookaheadParams"):
        tx.update(GRADS, tx.init(PARAMS), PARAMS)


def test_lookahead_accepts_optax_lookahead_params():
    tx = gdx.lookahead(gdx.sgd(0.1), sync_period=1, slow_step_size=0.5)
    params = optax.LookaheadParams.init_synced(PARAMS)
    updates, _ = tx.update(GRADS, tx.init(params), params)
    assert isinstance(updates, optax.LookaheadParams)


# --- flatten -----------------------------------------------------------------------------------


def test_flatten_keeps_each_updates_dtype():
    params = {"a": jnp.ones((2, 2)), "b": jnp.ones(3, jnp.bfloat16)}
    updates, state = run(gdx.flatten(gdx.adam(0.1)), steps=2, params=params, grads=params)
    assert updates["a"].dtype == jnp.float32 and updates["b"].dtype == jnp.bfloat16
    assert state[0].mu.shape == (7,)


# --- ema_params, reset_substate ----------------------------------------------------------------


def test_ema_params_debiased_average_of_the_params_after_each_step():
    decay = 0.8
    tx = gdx.chain(gdx.sgd(0.5), gdx.ema_params(decay))
    params, state = PARAMS, tx.init(PARAMS)
    history = []
    for step in range(4):
        updates, state = tx.update(grads_for(PARAMS, step), state, params)
        params = gdx.apply_updates(params, updates)
        history.append(params)
        weights = decay ** np.arange(len(history))[::-1]
        weighted_mean = functools.partial(
            lambda weights, *xs: sum(w * x for w, x in zip(weights, xs)) / weights.sum(), weights
        )
        expected = jax.tree.map(weighted_mean, *history)
        for a, b in zip(jax.tree.leaves(gdx.get_ema_params(state)), jax.tree.leaves(expected)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    ema = gdx.ema_params(decay)
    assert_trees_equal(ema.update(GRADS, ema.init(PARAMS), PARAMS)[0], GRADS)  # passed through


def test_ema_params_without_debias_starts_at_the_initial_params():
    tx = gdx.ema_params(0.5, debias=False, accumulator_dtype=jnp.float32)
    params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), PARAMS)
    state = tx.init(params)
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(state.ema))
    updates = jax.tree.map(lambda p: jnp.ones_like(p), params)
    _, state = tx.update(updates, state, params)
    expected = jax.tree.map(lambda p: np.asarray(p, np.float32) + 0.5, params)
    for a, b in zip(jax.tree.leaves(gdx.get_ema_params(state)), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-2)


def test_ema_params_errors():
    with pytest.raises(ValueError, match="decay"):
        gdx.ema_params(1.0)
    tx = gdx.ema_params(0.9)
    with pytest.raises(ValueError, match="needs params"):
        tx.update(GRADS, tx.init(PARAMS))
    with pytest.raises(ValueError, match="exactly one EmaParamsState"):
        gdx.get_ema_params(gdx.adam(0.1).init(PARAMS))


def test_reset_substate_by_class_path_and_predicate():
    tx = gdx.chain(gdx.clip_by_global_norm(1.0), gdx.adam(0.1))
    _, state = run(tx, steps=3)
    fresh = tx.init(PARAMS)
    adam_state = state[1][0]
    by_class = gdx.reset_substate(tx, state, PARAMS, gdx.ScaleByAdamState)
    assert_trees_equal(by_class[1][0], fresh[1][0])
    assert_trees_equal(by_class[1][1], state[1][1])
    by_path = jax.jit(lambda s: gdx.reset_substate(tx, s, PARAMS, "[1][0].mu"))(state)
    assert_trees_equal(by_path[1][0].mu, fresh[1][0].mu)
    assert_trees_equal(by_path[1][0].nu, adam_state.nu)
    by_predicate = gdx.reset_substate(tx, state, PARAMS, lambda node: isinstance(node, gdx.ScaleByAdamState))
    assert_trees_equal(by_predicate, by_class)
    with pytest.raises(ValueError, match="selects nothing"):
        gdx.reset_substate(tx, state, PARAMS, "[7]")


def test_validation_of_wrapper_arguments():
    with pytest.raises(ValueError, match="max_consecutive_errors"):
        gdx.apply_if_finite(gdx.sgd(0.1), -1)


def test_skip_functions_report_their_reason():
    bad = {"w": GRADS["w"].at[0, 0].set(jnp.inf), "b": GRADS["b"]}
    should_skip, info = gdx.skip_not_finite(bad, jnp.array(0), None)
    assert bool(should_skip) and int(info["num_not_finite"]) == 1
    skip_large = functools.partial(gdx.skip_large_updates, max_squared_norm=1.0)
    should_skip, info = skip_large(GRADS, jnp.array(0), None)
    assert bool(should_skip) and float(info["norm_squared"]) == pytest.approx(6 * 0.0625 + 14.0)
