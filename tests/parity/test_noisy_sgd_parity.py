"""noisy_sgd and add_noise against optax (params after every step, final state)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import TOLERANCES, both, decaying, make_params, optax_promotion, run_trajectory


def noise_params():
    # Three leaves (scalar, matrix, bfloat16): every leaf costs a PRNG in the compiled step,
    # and PRNG code is slow to compile.
    params = make_params(0)
    return {"scale": params["scale"], "matrix": params["matrix"], "embedding": params["embedding"]}


def assert_noise_parity(ours, theirs, steps):
    """`assert_parity` for a state holding a PRNG key (which cannot go through numpy)."""
    params = noise_params()
    common = dict(steps=steps, seed=1)
    with jax.numpy_dtype_promotion("strict"):
        gdx_trajectory, gdx_state = run_trajectory(ours, params, apply_updates=gdx.apply_updates, **common)
    with optax_promotion():
        optax_trajectory, optax_state = run_trajectory(
            theirs, params, apply_updates=optax.apply_updates, **common
        )
    for key in params:
        got, expected = (
            np.asarray(gdx_trajectory[key], np.float32),
            np.asarray(optax_trajectory[key], np.float32),
        )
        tolerance = TOLERANCES[np.dtype(params[key].dtype)]
        for step in range(steps):
            np.testing.assert_allclose(
                got[step], expected[step], err_msg=f"{key} after step {step + 1}", **tolerance
            )
    gdx_leaves, _ = jax.tree_util.tree_flatten_with_path(gdx_state)
    optax_leaves, _ = jax.tree_util.tree_flatten_with_path(optax_state)
    assert [jax.tree_util.keystr(p) for p, _ in gdx_leaves] == [
        jax.tree_util.keystr(p) for p, _ in optax_leaves
    ]
    for (_, ours_leaf), (_, theirs_leaf) in zip(gdx_leaves, optax_leaves):
        if jnp.issubdtype(ours_leaf.dtype, jax.dtypes.prng_key):
            np.testing.assert_array_equal(jax.random.key_data(ours_leaf), jax.random.key_data(theirs_leaf))
        else:
            assert ours_leaf.dtype == theirs_leaf.dtype
            np.testing.assert_array_equal(ours_leaf, theirs_leaf)


def test_add_noise():
    ours, theirs = both("add_noise", eta=0.01, gamma=0.55, key=0)
    assert_noise_parity(gdx.chain(ours, gdx.scale(-0.05)), optax.chain(theirs, optax.scale(-0.05)), steps=100)


@pytest.mark.parametrize(
    "kwargs, steps",
    [
        (dict(learning_rate=1e-2, key=0), 100),
        (dict(learning_rate=decaying, eta=0.1, gamma=0.3, key=jax.random.key(3)), 20),
    ],
    ids=["constant", "schedule"],
)
def test_noisy_sgd(kwargs, steps):
    assert_noise_parity(*both("noisy_sgd", **kwargs), steps=steps)
