"""Catalog E against optax: tree math, safe norms, monitoring, stateless_with_tree_map,
tree_map_params and reduce_on_plateau.

Tree math and norms are compared call by call (gdx under strict promotion, optax
under standard); transformations run through the parity harness (params after
every step, final state leaf by leaf). `monitor` changes its state's structure
at the first step in optax, so it is compared step by step outside a scan.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

import gdx
import gdx.contrib
from tests.parity.harness import TOLERANCES, assert_parity, make_params, optax_promotion, run_trajectory


def assert_trees_close(got, expected, where="tree"):
    got_leaves, got_def = jax.tree_util.tree_flatten_with_path(got)
    expected_leaves, expected_def = jax.tree_util.tree_flatten_with_path(expected)
    assert [jax.tree_util.keystr(p) for p, _ in got_leaves] == [
        jax.tree_util.keystr(p) for p, _ in expected_leaves
    ]
    for (path, a), (_, b) in zip(got_leaves, expected_leaves):
        a, b = np.asarray(a), np.asarray(b)
        label = f"{where}{jax.tree_util.keystr(path)}"
        assert a.dtype == b.dtype, f"{label}: dtype {a.dtype} != optax's {b.dtype}"
        assert a.shape == b.shape, f"{label}: shape {a.shape} != optax's {b.shape}"
        tolerance = TOLERANCES.get(np.dtype(a.dtype), dict(rtol=0, atol=0))
        if a.dtype == np.dtype(jnp.bfloat16):
            a, b = a.astype(np.float32), b.astype(np.float32)
        np.testing.assert_allclose(a, b, err_msg=label, **tolerance)


def random_tree(seed, *, complex_leaf=False, positive=False):
    rng = np.random.default_rng(seed)
    draw = lambda shape: np.abs(rng.standard_normal(shape)) if positive else rng.standard_normal(shape)
    tree = {
        "w": jnp.asarray(draw((4, 3)), jnp.float32),
        "b": (jnp.asarray(draw(()), jnp.float32),),
        "e": jnp.asarray(draw((5,)), jnp.bfloat16),
    }
    if complex_leaf:
        tree["z"] = jnp.asarray(draw((3,)) + 1j * draw((3,)), jnp.complex64)
    return tree


def both(fn_name, *args, **kwargs):
    """gdx.fn(*args) under strict promotion (the test default) and optax.fn(*args) under standard."""
    ours = getattr(gdx, fn_name)(*args, **kwargs)
    with optax_promotion():
        theirs = getattr(optax, fn_name)(*args, **kwargs)
    return ours, theirs


# --- tree math ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order, decay", [(1, 0.9), (2, jnp.asarray(0.99, jnp.float32)), (3, 0.5)], ids=["1", "2-array", "3"]
)
def test_update_moment(order, decay):
    ours, theirs = both("update_moment", random_tree(0), random_tree(1), decay, order)
    assert_trees_close(ours, theirs)


@pytest.mark.parametrize("order", [1, 2])
def test_update_moment_per_elem_norm(order):
    updates, moments = random_tree(0, complex_leaf=True), random_tree(1, positive=True)
    moments["z"] = jnp.asarray([0.5, 1.0, 2.0], jnp.float32)  # a real moment for the complex leaf
    ours, theirs = both("update_moment_per_elem_norm", updates, moments, 0.999, order)
    assert_trees_close(ours, theirs)


@pytest.mark.parametrize("eps", [0.0, 1e-3])
def test_update_infinity_moment(eps):
    ours, theirs = both("update_infinity_moment", random_tree(0), random_tree(1, positive=True), 0.99, eps)
    assert_trees_close(ours, theirs)


@pytest.mark.parametrize("count, decay", [(1, 0.9), (3, 0.999), (1000, 0.999)])
def test_bias_correction(count, decay):
    ours, theirs = both("bias_correction", random_tree(2), decay, jnp.asarray(count, jnp.int32))
    assert_trees_close(ours, theirs)


def test_update_moment_keeps_none_leaves():
    updates = {"a": None, "b": jnp.ones(2)}
    ours = gdx.update_moment(updates, {"a": None, "b": jnp.zeros(2)}, 0.9, 2)
    assert ours["a"] is None


@pytest.mark.parametrize(
    "step_size", [0.01, 0.5, jnp.asarray(0.2, jnp.float32)], ids=["0.01", "0.5", "array"]
)
def test_incremental_update(step_size):
    ours, theirs = both("incremental_update", random_tree(3), random_tree(4), step_size)
    assert_trees_close(ours, theirs)


def test_periodic_update():
    new, old = random_tree(5), random_tree(6)
    step = jax.jit(gdx.periodic_update, static_argnums=3)
    for steps in range(7):
        ours = step(new, old, jnp.asarray(steps, jnp.int32), 3)
        with optax_promotion():
            theirs = optax.periodic_update(new, old, jnp.asarray(steps, jnp.int32), 3)
        assert_trees_close(ours, theirs)
        expected = new if steps % 3 == 0 else old
        assert_trees_close(ours, expected)


# --- safe norms ---------------------------------------------------------------------------------

NORM_CASES = [
    (dict(), 1e-6),
    (dict(ord=1), 4.0),
    (dict(ord=np.inf, axis=1), 1e-6),
    (dict(axis=1, keepdims=True), 1.5),
    (dict(ord=2, axis=0), 1e-6),
    (dict(ord="fro", axis=(0, 1), keepdims=True), 100.0),
]


def value_and_grad_sum(norm_fn, x, *args, **kwargs):
    value = norm_fn(x, *args, **kwargs)
    grad = jax.grad(lambda x: jnp.sum(norm_fn(x, *args, **kwargs)))(x)
    return value, grad


@pytest.mark.parametrize("kwargs, min_norm", NORM_CASES, ids=[f"{k}-{m}" for k, m in NORM_CASES])
def test_safe_norm(kwargs, min_norm):
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 3)), jnp.float32)
    x = x.at[1].set(0.0)  # a zero row: the floor applies along axis=1
    ours = jax.jit(lambda x: value_and_grad_sum(gdx.safe_norm, x, min_norm, **kwargs))(x)
    with optax_promotion():
        theirs = jax.jit(lambda x: value_and_grad_sum(optax.safe_norm, x, min_norm, **kwargs))(x)
    assert_trees_close(ours, theirs)


EUCLIDEAN_CASES = [
    (jnp.float32, None, False, 1e-6),
    (jnp.float32, 1, False, 1.5),
    (jnp.float32, (0, 1), True, 100.0),
    (jnp.bfloat16, 1, True, jnp.asarray(1.5, jnp.float32)),
    (jnp.complex64, 0, False, 0.5),
]


@pytest.mark.parametrize(
    "dtype, axis, keepdims, min_norm",
    EUCLIDEAN_CASES,
    ids=[f"{np.dtype(c[0])}-{c[1]}-{c[2]}" for c in EUCLIDEAN_CASES],
)
def test_euclidean_safe_norm_matches_optax_to_second_order(dtype, axis, keepdims, min_norm):
    # The Euclidean path states its derivative in a custom_jvp instead of optax's masked copy of
    # x: values, gradients in x and in min_norm, and Hessian-vector products must still agree.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3)) + (1j * rng.standard_normal((4, 3)) if dtype == jnp.complex64 else 0)
    x = jnp.asarray(x, dtype).at[1].set(0).at[2].multiply(0.1)  # a zero row, a row under the floor
    v = jnp.asarray(rng.standard_normal((4, 3)), x.real.dtype).astype(dtype)

    def derivatives(norm_fn):
        total = lambda x, m: jnp.sum(norm_fn(x, m, axis=axis, keepdims=keepdims)).real.astype(jnp.float32)
        grad_x = jax.grad(total)(x, min_norm)
        grad_min = jax.grad(total, argnums=1)(x, jnp.asarray(min_norm, jnp.float32))
        hvp = jax.jvp(lambda x: jax.grad(total)(x, min_norm), (x,), (v,))[1]
        return norm_fn(x, min_norm, axis=axis, keepdims=keepdims), grad_x, grad_min, hvp

    ours = jax.jit(lambda: derivatives(gdx.safe_norm))()
    with optax_promotion():
        theirs = jax.jit(lambda: derivatives(optax.safe_norm))()
    assert_trees_close(ours, theirs)
    assert np.all(np.isfinite(np.asarray(ours[1], np.complex64)))


def test_fast_euclidean_norm_reduces_x_once_and_safe_norm_is_optax_formulation():
    # The point of floored_l2_norm's custom_jvp (the opt-in `fast_norm=True` of the trust
    # ratio): optax reduces x, builds where(floor, 1, x) at x's size and reduces that again.
    # floored_l2_norm's forward pass has one reduction and no full-size select. safe_norm, the
    # default everywhere, is optax's formulation (two reductions), for optax's bits.
    def equations(jaxpr):  # including those inside custom_jvp_call and other sub-jaxprs
        for eqn in jaxpr.eqns:
            yield eqn
            for param in eqn.params.values():
                inner = getattr(param, "jaxpr", param)
                if hasattr(inner, "eqns"):
                    yield from equations(inner)

    def reductions(norm):
        return [e.primitive.name for e in equations(jax.make_jaxpr(norm)(x).jaxpr)].count("reduce_sum")

    x = jnp.ones((64, 32))
    for norm in (
        lambda x: gdx.numerics.floored_l2_norm(x, 1e-3),
        lambda x: gdx.numerics.floored_l2_norm(x, 1e-3, 1),
    ):
        eqns = list(equations(jax.make_jaxpr(norm)(x).jaxpr))
        assert [e.primitive.name for e in eqns].count("reduce_sum") == 1
        assert not [e for e in eqns if e.primitive.name == "select_n" and e.outvars[0].aval.size >= x.size]
    assert reductions(lambda x: optax.safe_norm(x, 1e-3)) == 2  # the test sees the difference
    assert reductions(lambda x: gdx.safe_norm(x, 1e-3)) == 2


def test_safe_norm_and_rms_gradients_are_zero_not_nan_at_zero():
    grad = jax.grad(lambda x: gdx.safe_norm(x, 1e-6))(jnp.zeros(3))
    np.testing.assert_array_equal(grad, np.zeros(3))
    grad = jax.grad(lambda x: gdx.safe_root_mean_squares(x, 1e-6))(jnp.zeros(3))
    np.testing.assert_array_equal(grad, np.zeros(3))


@pytest.mark.parametrize(
    "min_rms, dtype",
    [
        (1e-6, jnp.float32),
        (2.0, jnp.float32),
        (jnp.asarray(0.5, jnp.float32), jnp.bfloat16),
        (0.1, jnp.complex64),
    ],
    ids=["tiny-f32", "2-f32", "array-bf16", "complex"],
)
def test_safe_root_mean_squares(min_rms, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 2)) + (1j * rng.standard_normal((5, 2)) if dtype == jnp.complex64 else 0)
    x = jnp.asarray(x, dtype)
    if dtype == jnp.float32:
        ours = jax.jit(lambda x: value_and_grad_sum(gdx.safe_root_mean_squares, x, min_rms))(x)
        with optax_promotion():
            theirs = jax.jit(lambda x: value_and_grad_sum(optax.safe_root_mean_squares, x, min_rms))(x)
    else:
        ours, theirs = both("safe_root_mean_squares", x, min_rms)
    assert_trees_close(ours, theirs)


# --- stateless helpers --------------------------------------------------------------------------


def test_init_empty_state():
    assert gdx.init_empty_state(make_params()) == gdx.EmptyState() == optax.init_empty_state(None)


def test_stateless_with_tree_map():
    def weight_decayed(update, param):
        return update + 0.01 * param

    assert_parity(
        gdx.chain(gdx.stateless_with_tree_map(weight_decayed), gdx.scale(-0.1)),
        optax.chain(optax.stateless_with_tree_map(weight_decayed), optax.scale(-0.1)),
        steps=20,
    )


def test_stateless_with_tree_map_without_params():
    tx = gdx.stateless_with_tree_map(lambda u, p: u * 2 if p is None else u)
    updates, state = tx.update({"a": jnp.ones(2)}, tx.init(None), extra="ignored")
    np.testing.assert_array_equal(updates["a"], 2 * np.ones(2))
    assert state == gdx.EmptyState()


# --- monitoring ---------------------------------------------------------------------------------


def test_snapshot():
    assert_parity(
        gdx.chain(
            gdx.sgd(0.1, momentum=0.9), gdx.snapshot("norm", gdx.global_norm), gdx.clip_by_global_norm(1.0)
        ),
        optax.chain(
            optax.sgd(0.1, momentum=0.9),
            optax.snapshot("norm", optax.tree.norm),
            optax.clip_by_global_norm(1.0),
        ),
        steps=20,
    )


def monitors(library):
    norm = gdx.global_norm if library is gdx else optax.tree.norm
    return library.monitor(
        {
            "norm": norm,
            "norm_ema": library.measure_with_ema(norm, decay=0.9),
            "clipped_ema": library.measure_with_ema(lambda u: norm(u) > 3.0, decay=0.8, debias=False),
        }
    )


def test_monitor_and_measure_with_ema_step_by_step():
    params = make_params()
    ours = gdx.chain(gdx.sgd(0.1, momentum=0.9), monitors(gdx), gdx.clip_by_global_norm(3.0))
    with optax_promotion():
        theirs = optax.chain(optax.sgd(0.1, momentum=0.9), monitors(optax), optax.clip_by_global_norm(3.0))
        their_state = theirs.init(params)
    our_state = ours.init(params)
    our_params = their_params = params
    our_step, their_step = jax.jit(ours.update), jax.jit(theirs.update)
    rng = np.random.default_rng(0)
    clipped = []
    for _ in range(4):
        grads = jax.tree.map(lambda p: jnp.asarray(3 * rng.standard_normal(p.shape), p.dtype), params)
        our_updates, our_state = our_step(grads, our_state, our_params)
        with optax_promotion():
            their_updates, their_state = their_step(grads, their_state, their_params)
            their_params = optax.apply_updates(their_params, their_updates)
        our_params = gdx.apply_updates(our_params, our_updates)
        assert_trees_close(our_params, their_params, "params")
        assert_trees_close(our_state, their_state, "state")
        clipped.append(float(gdx.tree_utils.tree_get(our_state, "norm")) > 3.0)
    assert any(clipped) and not all(clipped), "the case should clip on some steps only"


def test_monitor_state_keeps_its_structure_so_it_runs_in_a_scan():
    params = make_params()
    tx = gdx.chain(gdx.sgd(0.1), monitors(gdx))
    initial = tx.init(params)
    assert set(initial[1].measurements) == {"norm", "norm_ema", "clipped_ema"}
    assert all(np.all(np.asarray(leaf) == 0) for leaf in jax.tree.leaves(initial[1].measurements))
    _, final = run_trajectory(tx, params, steps=5, seed=0, apply_updates=gdx.apply_updates)
    assert jax.tree.structure(final) == jax.tree.structure(initial)
    assert jax.tree.map(lambda x: x.dtype, final) == jax.tree.map(lambda x: x.dtype, initial)
    assert float(final[1].measurements["norm"]) > 0


def test_monitor_measure_needing_value_starts_empty_as_optax():
    def loss_ema(updates, state, params=None, *, value, **extra_args):
        return value, state

    tx = gdx.monitor({"loss": gdx.GradientTransformation(lambda p: gdx.EmptyState(), loss_ema)})
    state = tx.init(make_params())
    assert state.measurements == {}
    _, state = tx.update(make_params(), state, value=jnp.float32(2.0))
    assert float(state.measurements["loss"]) == 2.0


# --- tree_map_params ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, build",
    [
        ("adam", lambda lib: lib.adam(1e-3)),
        # a mask function: gdx.masked does not yet pass the placeholder through for a mask tree
        ("adamw-masked", lambda lib: lib.adamw(1e-3, mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p))),
    ],
)
def test_tree_map_params(name, build):
    params = make_params()
    ours, theirs = build(gdx), build(optax)
    with optax_promotion():
        their_state = theirs.init(params)
    our_state = ours.init(params)
    doubled = lambda p, q: jnp.asarray(2, p.dtype) * p + q
    ours_mapped = gdx.tree_map_params(ours, doubled, our_state, params, transform_non_params=lambda x: -1)
    with optax_promotion():
        theirs_mapped = optax.tree_map_params(
            theirs, doubled, their_state, params, transform_non_params=lambda x: -1
        )
    assert_trees_close(ours_mapped, theirs_mapped)
    # with a plain init function and is_leaf (the masked leaves are MaskedNodes)
    masked_node = lambda x: isinstance(x, (gdx.MaskedNode, optax.MaskedNode))
    ours_specs = gdx.tree_map_params(ours.init, lambda p: "spec", our_state, is_leaf=masked_node)
    theirs_specs = optax.tree_map_params(theirs.init, lambda p: "spec", their_state, is_leaf=masked_node)
    assert jax.tree.leaves(ours_specs).count("spec") == jax.tree.leaves(theirs_specs).count("spec") > 0


# --- reduce_on_plateau --------------------------------------------------------------------------


def plateauing_loss(params, step):
    """A loss that falls for 20 steps, then plateaus with a little noise."""
    del params
    step = step.astype(jnp.float32)
    return {"value": jnp.maximum(10.0 - 0.5 * step, 0.0) + 0.01 * jnp.sin(3.0 * step)}


def test_reduce_on_plateau_signature_matches_optax_contrib():
    ours = inspect.signature(gdx.reduce_on_plateau).parameters
    theirs = inspect.signature(optax.contrib.reduce_on_plateau).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]
    assert gdx.ReduceLROnPlateauState._fields == optax.contrib.ReduceLROnPlateauState._fields
    assert gdx.contrib.reduce_on_plateau is gdx.reduce_on_plateau


def test_contrib_names_are_optax_contrib_names():
    exported = [name for name in dir(gdx.contrib) if not name.startswith("_")]
    assert exported and all(hasattr(optax.contrib, name) for name in exported)


def test_reduce_on_plateau():
    kwargs = dict(factor=0.5, patience=3, cooldown=2, accumulation_size=2, min_scale=0.05)
    assert_parity(
        gdx.chain(gdx.sgd(0.1), gdx.reduce_on_plateau(**kwargs)),
        optax.chain(optax.sgd(0.1), optax.contrib.reduce_on_plateau(**kwargs)),
        steps=100,
        extra_args=plateauing_loss,
    )


def half_squared_norm(params, step):
    del step
    return {"value": sum(0.5 * jnp.sum(jnp.square(p.astype(jnp.float32))) for p in jax.tree.leaves(params))}


def test_reduce_on_plateau_defaults_and_tolerances():
    kwargs = dict(patience=2, rtol=0.0, atol=0.5)
    assert_parity(
        gdx.chain(gdx.adam(0.05), gdx.reduce_on_plateau(**kwargs)),
        optax.chain(optax.adam(0.05), optax.contrib.reduce_on_plateau(**kwargs)),
        steps=40,
        extra_args=half_squared_norm,
        params=make_params(bfloat16=False),
    )
