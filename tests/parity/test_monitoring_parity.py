"""`gdx.monitoring` (snapshot, monitor, measure_with_ema) against optax.

`monitor` changes its state's structure at the first step in optax, so it is
compared step by step outside a scan.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gdx
from tests.parity.calls import assert_trees_close
from tests.parity.harness import assert_parity, make_params, optax_promotion, run_trajectory


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
