"""`gdx.dpsgd` and `gdx.differentially_private_aggregate` against optax.contrib 0.2.8, noise included."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

import gdx
from tests.parity.calls import run_on_grads
from tests.parity.harness import TOLERANCES, make_params, optax_promotion

BATCH = 4


def _per_example_grads(params, steps, seed):
    rng = np.random.default_rng(seed)
    # Scale 3: some examples exceed the clipping norm and some do not.
    return jax.tree.map(
        lambda x: jnp.asarray(
            rng.uniform(0.2, 3.0, (steps, BATCH) + (1,) * jnp.ndim(x)).astype(np.float32)
            * rng.standard_normal((steps, BATCH, *jnp.shape(x)), dtype=np.float32)
            / np.sqrt(24.0),
            x.dtype,
        ),
        params,
    )


def _assert_same_runs(got, want):
    for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(got)[0], jax.tree.leaves(want)):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            np.testing.assert_array_equal(jax.random.key_data(a), jax.random.key_data(b))
            continue
        assert a.dtype == b.dtype, jax.tree_util.keystr(path)
        tolerance = TOLERANCES[np.dtype(a.dtype)]
        np.testing.assert_allclose(
            np.asarray(a, np.float32),
            np.asarray(b, np.float32),
            rtol=tolerance["rtol"],
            atol=tolerance["atol"],
            err_msg=jax.tree_util.keystr(path),
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(learning_rate=0.1, l2_norm_clip=1.0, noise_multiplier=1.1, seed=3),
        dict(learning_rate=0.05, l2_norm_clip=0.5, noise_multiplier=0.3, seed=7, momentum=0.9, nesterov=True),
    ],
    ids=["plain", "nesterov"],
)
def test_dpsgd_matches_optax_noise_included(kwargs):
    # With momentum, optax's own scan fails on a bfloat16 leaf (its aggregate returns float32
    # there, so its bfloat16 momentum buffer changes dtype); gdx keeps the grads' dtype.
    params = make_params(0, bfloat16="momentum" not in kwargs)
    grads = _per_example_grads(params, 25, seed=1)
    got = run_on_grads(gdx.dpsgd(**kwargs), params, grads, "strict")
    with pytest.warns(DeprecationWarning):  # optax's dpsgd passes its seed on as a deprecated argument
        reference = optax.contrib.dpsgd(**kwargs)
    want = run_on_grads(reference, params, grads, "standard")
    _assert_same_runs(got, want)


def test_differentially_private_aggregate_noise_is_optax_noise_bit_for_bit():
    params = {"a": jnp.zeros(3), "b": (jnp.zeros((2, 2)), jnp.zeros(()))}  # one key per leaf, in tree order
    grads = jax.tree.map(lambda g: g[0], _per_example_grads(params, 1, seed=2))
    key = jax.random.key(11)
    ours = gdx.differentially_private_aggregate(1.0, 2.0, key)
    theirs = optax.contrib.differentially_private_aggregate(1.0, 2.0, key)
    got_state: Any
    got, got_state = ours.update(grads, ours.init(params))
    want_state: Any
    with optax_promotion():
        want, want_state = theirs.update(grads, theirs.init(params))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        jax.random.key_data(got_state.rng_key), jax.random.key_data(want_state.rng_key)
    )
