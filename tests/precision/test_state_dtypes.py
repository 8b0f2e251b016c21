"""`mu_dtype` (optax's) and `nu_dtype` (gdx-only) on the Adam family: stored dtype, parity, trajectory."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity

BF16 = jnp.bfloat16

# Every optimizer and transformation that takes `nu_dtype`.
NU_DTYPE_FACTORIES = {
    "scale_by_adam": lambda **kw: gdx.scale_by_adam(**kw),
    "scale_by_amsgrad": lambda **kw: gdx.scale_by_amsgrad(**kw),
    "adam": lambda **kw: gdx.adam(1e-2, **kw),
    "nadam": lambda **kw: gdx.nadam(1e-2, **kw),
    "adamw": lambda **kw: gdx.adamw(1e-2, **kw),
    "nadamw": lambda **kw: gdx.nadamw(1e-2, **kw),
    "amsgrad": lambda **kw: gdx.amsgrad(1e-2, **kw),
    "adabelief": lambda **kw: gdx.adabelief(1e-2, **kw),
    "radam": lambda **kw: gdx.radam(1e-2, **kw),
    "yogi": lambda **kw: gdx.yogi(1e-2, **kw),
    "lamb": lambda **kw: gdx.lamb(1e-2, **kw),
    "scale_by_rms": lambda **kw: gdx.scale_by_rms(**kw),
    "scale_by_stddev": lambda **kw: gdx.scale_by_stddev(**kw),
    "rmsprop": lambda **kw: gdx.rmsprop(1e-2, **kw),
    "rmsprop centered": lambda **kw: gdx.rmsprop(1e-2, centered=True, **kw),
    "adan": lambda **kw: gdx.adan(1e-2, **kw),
    "scale_by_adan": lambda **kw: gdx.scale_by_adan(**kw),
    "scale_by_belief": lambda **kw: gdx.scale_by_belief(**kw),
    "scale_by_radam": lambda **kw: gdx.scale_by_radam(**kw),
    "scale_by_yogi": lambda **kw: gdx.scale_by_yogi(**kw),
    "adamax": lambda **kw: gdx.adamax(1e-2, **kw),
    "adamaxw": lambda **kw: gdx.adamaxw(1e-2, **kw),
    "scale_by_adamax": lambda **kw: gdx.scale_by_adamax(**kw),
}

PARAMS = {"w": jnp.linspace(-1.0, 1.0, 12, dtype=jnp.float32).reshape(3, 4), "b": jnp.ones([4], jnp.float32)}
SECOND_MOMENT_FIELDS = ("nu", "nu_max", "n")  # `n`: Adan's


def _second_moment_leaves(state):
    leaves = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        if any(getattr(key, "name", None) in SECOND_MOMENT_FIELDS for key in path):
            leaves.append(leaf)
    return leaves


@pytest.mark.parametrize("name", sorted(NU_DTYPE_FACTORIES))
def test_nu_dtype_stores_the_second_moment_in_that_dtype(name):
    tx = NU_DTYPE_FACTORIES[name](nu_dtype=BF16)
    state = tx.init(PARAMS)
    grads = jax.tree.map(lambda p: 0.1 * p, PARAMS)
    updates, new_state = jax.jit(tx.update)(grads, state, PARAMS)
    for tree in (state, new_state):
        moments = _second_moment_leaves(tree)
        assert moments and all(leaf.dtype == BF16 for leaf in moments), name
    assert jax.tree.map(lambda u: u.dtype, updates) == jax.tree.map(lambda p: p.dtype, PARAMS)
    # First moments and everything else keep the params' dtype.
    others = [leaf for leaf in jax.tree.leaves(new_state) if leaf.dtype not in (BF16, jnp.int32)]
    assert all(leaf.dtype == jnp.float32 for leaf in others)


def test_nu_dtype_none_is_the_default_and_keeps_the_params_dtype():
    state = gdx.adam(1e-2).init(PARAMS)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state[0].nu))


@pytest.mark.parametrize("bad", [jnp.int32, "not a dtype"])
def test_nu_dtype_must_be_a_floating_dtype(bad):
    with pytest.raises((ValueError, TypeError), match="nu_dtype"):
        gdx.adam(1e-2, nu_dtype=bad)


@pytest.mark.parametrize(
    "gdx_tx, optax_tx",
    [
        (gdx.adam(1e-2, mu_dtype=BF16), optax.adam(1e-2, mu_dtype=BF16)),
        (
            gdx.adamw(1e-2, mu_dtype=BF16, weight_decay=0.1),
            optax.adamw(1e-2, mu_dtype=BF16, weight_decay=0.1),
        ),
    ],
    ids=["adam", "adamw"],
)
def test_mu_dtype_bfloat16_matches_optax(gdx_tx, optax_tx):
    assert_parity(gdx_tx, optax_tx, steps=30)


def test_nu_dtype_bfloat16_trajectory_stays_close_to_float32():
    # Adam on an ill-conditioned quadratic. A bfloat16 second moment is rounded by up to
    # 2**-9 relative at every step and enters the step through sqrt; measured deviation of
    # the whole 300-step path: 1.04% of the starting value, bounded here by 2%.
    scales = jnp.logspace(-2, 1, 16, dtype=jnp.float32)
    start = {"x": jnp.ones([16], jnp.float32)}

    def run(tx):
        def step(carry, _):
            params, state = carry
            grads = {"x": scales * params["x"]}
            updates, state = tx.update(grads, state, params)
            params = gdx.apply_updates(params, updates)
            return (params, state), params["x"]

        _, path = jax.lax.scan(step, (start, tx.init(start)), None, length=300)
        return np.asarray(path)

    reference = run(gdx.adam(1e-2))
    low = run(gdx.adam(1e-2, nu_dtype=BF16))
    assert np.max(np.abs(low - reference)) < 2e-2 * np.max(np.abs(reference))
    assert np.max(np.abs(low[-1])) < 1e-2  # and it converges as well
    assert not np.array_equal(low, reference)  # the option does something
