"""gdx.from_optax_state / gdx.to_optax_state: switching libraries in the middle of a run.

10 steps with one library, convert the state, 10 more with the other ==
20 steps with the first (params compared with the parity tolerances).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.calls import assert_trees_close
from tests.parity.harness import MASK, grad_sequence, make_params

CASES = {
    "adam": lambda lib: lib.adam(1e-2),
    "adamw-mask": lambda lib: lib.adamw(1e-2, weight_decay=0.1, mask=MASK),
    "sgd-momentum": lambda lib: lib.sgd(0.1, momentum=0.9, nesterov=True),
    "clip-adamw-schedule": lambda lib: lib.chain(
        lib.clip_by_global_norm(1.0), lib.adamw(lib.cosine_decay_schedule(1e-2, 20))
    ),
}


def runner(tx, apply_updates, promotion):
    """A jitted scan of `tx` steps starting from a given (params, state)."""

    @jax.jit
    def run(params, state, grads_per_step):
        def body(carry, grads):
            params, state = carry
            updates, state = tx.update(grads, state, params)
            return (apply_updates(params, updates), state), None

        (params, state), _ = jax.lax.scan(body, (params, state), grads_per_step)
        return params, state

    def call(params, state, grads_per_step):
        with jax.numpy_dtype_promotion(promotion):
            return run(params, state, grads_per_step)

    return call


@pytest.mark.parametrize("name", CASES)
def test_switching_libraries_midway(name):
    params = make_params()
    grads = grad_sequence(params, 20, seed=3)
    first, second = (jax.tree.map(lambda g, i=i: g[10 * i : 10 * (i + 1)], grads) for i in (0, 1))
    ours, theirs = CASES[name](gdx), CASES[name](optax)
    with jax.numpy_dtype_promotion("standard"):
        their_init = theirs.init(params)
    our_init = ours.init(params)
    run_ours = runner(ours, gdx.apply_updates, "strict")
    run_theirs = runner(theirs, optax.apply_updates, "standard")

    # optax for 10 steps, then gdx for 10 == optax for 20
    params_10, their_state_10 = run_theirs(params, their_init, first)
    expected_20, _ = run_theirs(params_10, their_state_10, second)
    our_state_10 = gdx.from_optax_state(their_state_10)
    assert jax.tree.structure(our_state_10) == jax.tree.structure(our_init)  # gdx classes throughout
    got_20, _ = run_ours(params_10, our_state_10, second)
    assert_trees_close(got_20, expected_20, "params after 10 optax + 10 gdx steps")

    # gdx for 10 steps, then optax for 10 == gdx for 20
    params_10, our_state_10 = run_ours(params, our_init, first)
    expected_20, _ = run_ours(params_10, our_state_10, second)
    their_state_10 = gdx.to_optax_state(our_state_10, theirs)
    assert jax.tree.structure(their_state_10) == jax.tree.structure(their_init)  # optax classes throughout
    got_20, _ = run_theirs(params_10, their_state_10, second)
    assert_trees_close(got_20, expected_20, "params after 10 gdx + 10 optax steps")


def test_round_trip_renames_masked_nodes_and_passes_the_arrays_through():
    params = make_params()
    state = gdx.masked(gdx.scale_by_adam(), MASK).init(params)
    with jax.numpy_dtype_promotion("standard"):
        reference = jax.eval_shape(optax.masked(optax.scale_by_adam(), MASK).init, params)
    their_state = gdx.to_optax_state(state, reference)
    assert type(their_state) is optax.MaskedState
    assert type(their_state.inner_state) is optax.ScaleByAdamState
    assert type(their_state.inner_state.mu["scale"]) is optax.MaskedNode
    # without a reference state (traced on a placeholder), MaskedNodes are renamed too
    assert jax.tree.structure(gdx.to_optax_state(state, optax.masked(optax.scale_by_adam(), MASK))) == (
        jax.tree.structure(their_state)
    )
    back = gdx.from_optax_state(their_state)
    assert type(back.inner_state.mu["scale"]) is gdx.MaskedNode
    assert jax.tree.structure(back) == jax.tree.structure(state)
    assert all(a is b for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(state)))


def test_reference_checks_and_params():
    params = make_params()
    with jax.numpy_dtype_promotion("standard"):
        their_state = optax.adamw(1e-3, mask=MASK).init(params)
    # a masked reference builds on the placeholder as well as on params
    for given in ({}, {"params": params}):
        converted = gdx.from_optax_state(their_state, reference=gdx.adamw(1e-3, mask=MASK), **given)
        assert type(converted[1]) is gdx.MaskedState
        assert type(converted[1].inner_state) is gdx.EmptyState
    # a gdx reference whose init cannot run on a placeholder (lbfgs reads leaf shapes) asks for params
    with jax.numpy_dtype_promotion("standard"):
        lbfgs_state = optax.lbfgs().init(params)
    with pytest.raises(ValueError, match="pass params="):
        gdx.from_optax_state(lbfgs_state, reference=gdx.lbfgs())
    converted = gdx.from_optax_state(lbfgs_state, reference=gdx.lbfgs(), params=params)
    assert jax.tree.structure(converted) == jax.tree.structure(gdx.lbfgs().init(params))


def test_mismatch_names_the_first_differing_path():
    params = make_params()
    adam_state = gdx.adam(1e-3).init(params)
    with pytest.raises(ValueError, match=r"to_optax_state: .* at \[0\]: the state has ScaleByAdamState"):
        gdx.to_optax_state(adam_state, optax.sgd(0.1, momentum=0.9))
    other_params = dict(params, matrix=jnp.zeros((2, 2)))
    with pytest.raises(
        ValueError, match=r"at \[0\]\.mu\['matrix'\]: the state has an array of shape \(5, 6\)"
    ):
        gdx.to_optax_state(adam_state, optax.adam(1e-3), params=other_params)
    with jax.numpy_dtype_promotion("standard"):
        their_state = optax.adam(1e-3).init(params)
    with pytest.raises(ValueError, match=r"from_optax_state: .* at \[0\]"):
        gdx.from_optax_state(their_state, reference=gdx.sgd(0.1, momentum=0.9))


class UnknownState(NamedTuple):
    count: jax.Array


UnknownState.__module__ = "optax._src.imaginary"


class UserParams(NamedTuple):
    weight: jax.Array


def test_optax_class_unknown_to_gdx_is_an_error_user_classes_are_kept():
    state = (optax.EmptyState(), {"inner": UnknownState(jnp.zeros([], jnp.int32))})
    with pytest.raises(ValueError, match=r"at \[1\]\['inner'\].*no gdx class UnknownState"):
        gdx.from_optax_state(state)
    params = UserParams(jnp.ones(3))
    with jax.numpy_dtype_promotion("standard"):
        their_state = optax.sgd(0.1, momentum=0.9).init(params)
    ours = gdx.from_optax_state(their_state)
    assert type(ours[0]) is gdx.TraceState
    assert type(ours[0].trace) is UserParams


STATE_NAMES = [
    "adamw", "lion", "lamb", "lars", "rmsprop", "adagrad", "adafactor", "novograd", "adabelief",
    "radam", "yogi", "adan", "adamax", "nadam", "amsgrad", "adadelta", "fromage", "sign_sgd", "rprop",
]  # fmt: skip


@pytest.mark.parametrize("name", STATE_NAMES)
def test_every_optimizer_state_converts_both_ways(name):
    params = make_params()
    ours, theirs = getattr(gdx, name)(1e-3), getattr(optax, name)(1e-3)
    with jax.numpy_dtype_promotion("standard"):
        their_state = theirs.init(params)
    our_state = ours.init(params)
    assert jax.tree.structure(gdx.from_optax_state(their_state)) == jax.tree.structure(our_state)
    assert jax.tree.structure(gdx.to_optax_state(our_state, theirs)) == jax.tree.structure(their_state)


def test_an_init_that_needs_params_asks_for_them():
    params = make_params()
    state = gdx.lbfgs().init(params)
    with pytest.raises(ValueError, match="pass params="):
        gdx.to_optax_state(state, optax.lbfgs())
    with jax.numpy_dtype_promotion("standard"):
        their_state = gdx.to_optax_state(state, optax.lbfgs(), params=params)
        assert jax.tree.structure(their_state) == jax.tree.structure(optax.lbfgs().init(params))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: gdx.muon(0.01), lambda: optax.contrib.muon(0.01)),
        (lambda: gdx.schedule_free_adamw(0.01), lambda: optax.contrib.schedule_free_adamw(0.01)),
        (
            lambda: gdx.sam(gdx.sgd(0.1), gdx.sgd(0.05), sync_period=3),
            lambda: optax.contrib.sam(optax.sgd(0.1), optax.sgd(0.05), sync_period=3),
        ),
    ],
    ids=["muon", "schedule_free_adamw", "sam"],
)
def test_an_optax_state_converts_to_gdx_and_back(ours, theirs):
    params = {"w": jnp.ones((3, 2)), "b": jnp.ones(2)}
    with jax.numpy_dtype_promotion("standard"):
        optax_tx = theirs()
        optax_state = optax_tx.init(params)
        _, optax_state = optax_tx.update(params, optax_state, params)
    state = gdx.from_optax_state(optax_state, reference=ours(), params=params)
    assert jax.tree.structure(state) == jax.tree.structure(ours().init(params))
    back = gdx.to_optax_state(state, optax_tx, params=params)
    assert jax.tree.structure(back) == jax.tree.structure(optax_state)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(optax_state)):
        np.testing.assert_array_equal(a, b)
