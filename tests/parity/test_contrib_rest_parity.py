"""gdx vs optax.contrib 0.2.8: madgrad, acprop, normalize, split_real_and_imaginary,
differentially_private_aggregate / dpsgd, galore, sophia (issue 11, part 3)."""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

import gdx
import gdx.contrib
from tests.parity.harness import TOLERANCES, assert_parity, make_params, optax_promotion

NAMES = [
    "madgrad",
    "scale_by_madgrad",
    "MadgradState",
    "acprop",
    "scale_by_acprop",
    "normalize",
    "NormalizeState",
    "split_real_and_imaginary",
    "SplitRealAndImaginaryState",
    "differentially_private_aggregate",
    "DifferentiallyPrivateAggregateState",
    "dpsgd",
    "galore",
    "scale_by_galore",
    "GaLoreDimensionNumbers",
    "GaLoreState",
    "sophia",
    "SophiaState",
    "hutchinson_estimator_diag_hessian",
    "HutchinsonState",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_signatures_and_state_fields_match_optax_contrib(name):
    ours, theirs = getattr(gdx, name), getattr(optax.contrib, name)
    assert getattr(gdx.contrib, name) is ours
    if inspect.isfunction(theirs):
        mine, reference = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert list(mine)[: len(reference)] == list(reference)
        for argument, parameter in reference.items():
            assert mine[argument].kind == parameter.kind, argument
            default = parameter.default
            if not (callable(default) or isinstance(default, optax.GradientTransformation)):
                assert mine[argument].default == default, argument
    elif hasattr(theirs, "_fields"):
        assert ours._fields == theirs._fields


def schedule(count):
    return 0.02 / (1.0 + 0.01 * count.astype(jnp.float32))


def test_madgrad_matches_optax():
    assert_parity(gdx.madgrad(0.01), optax.contrib.madgrad(0.01), steps=60)
    # Non-defaults: a schedule, weight decay (needs params), low momentum.
    assert_parity(
        gdx.madgrad(schedule, momentum=0.5, weight_decay=1e-3, eps=1e-4),
        optax.contrib.madgrad(schedule, momentum=0.5, weight_decay=1e-3, eps=1e-4),
        steps=60,
    )


def test_acprop_matches_optax():
    assert_parity(gdx.acprop(1e-3), optax.contrib.acprop(1e-3), steps=60)
    mask = lambda params: jax.tree.map(lambda p: p.ndim > 1, params)  # noqa: E731
    assert_parity(
        gdx.acprop(schedule, b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-10, weight_decay=1e-2, mask=mask),
        optax.contrib.acprop(
            schedule, b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-10, weight_decay=1e-2, mask=mask
        ),
        steps=60,
    )


def test_normalize_in_a_chain_matches_optax():
    # Updates keep the bfloat16 leaf's dtype in gdx (optax returns float32 there):
    # the params still agree within the bfloat16 tolerance.
    assert_parity(
        gdx.chain(gdx.normalize(), gdx.sgd(0.1)),
        optax.chain(optax.contrib.normalize(), optax.sgd(0.1)),
        steps=30,
    )


def test_normalize_keeps_a_zero_update_zero():
    # optax returns NaN (0 / 0) here; gdx keeps the zeros (documented difference).
    updates, _ = gdx.normalize().update({"w": jnp.zeros(3)}, gdx.NormalizeState())
    np.testing.assert_array_equal(updates["w"], np.zeros(3))


COMPLEX_PARAMS = {
    "z": jax.lax.complex(jnp.arange(6.0).reshape(2, 3) - 2, jnp.linspace(-1.0, 1.0, 6).reshape(2, 3)),
    "r": jnp.array([0.5, -1.5], jnp.float32),
}


def _complex_grads(steps):
    rng = np.random.default_rng(5)
    normal = lambda *shape: jnp.asarray(rng.standard_normal((steps, *shape)), jnp.float32)  # noqa: E731
    return {"z": jax.lax.complex(normal(2, 3), normal(2, 3)), "r": normal(2)}


def _run_on_grads(tx, params, grads, promotion):
    with jax.numpy_dtype_promotion(promotion):

        @jax.jit
        def scan(params, grads):
            def body(carry, g):
                params, state = carry
                updates, state = tx.update(g, state, params)
                return (optax.apply_updates(params, updates), state), params

            (_, state), trajectory = jax.lax.scan(body, (params, tx.init(params)), grads)
            return trajectory, state

        return scan(params, grads)


def test_split_real_and_imaginary_matches_optax_on_complex_params():
    grads = _complex_grads(30)
    got = _run_on_grads(gdx.split_real_and_imaginary(gdx.adamw(0.05)), COMPLEX_PARAMS, grads, "strict")
    want = _run_on_grads(
        optax.contrib.split_real_and_imaginary(optax.adamw(0.05)), COMPLEX_PARAMS, grads, "standard"
    )
    paths = lambda tree: [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]  # noqa: E731
    assert paths(got) == paths(want)  # the inner state holds (real, imaginary) pairs, as optax's
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert got[0]["z"].dtype == jnp.complex64


# --- differential privacy -----------------------------------------------------------------

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
    got = _run_on_grads(gdx.dpsgd(**kwargs), params, grads, "strict")
    with pytest.warns(DeprecationWarning):  # optax's dpsgd passes its seed on as a deprecated argument
        reference = optax.contrib.dpsgd(**kwargs)
    want = _run_on_grads(reference, params, grads, "standard")
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


# --- GaLore ----------------------------------------------------------------------------------
# Both sides take the same jnp.linalg.svd of the same float32 matrix, so the projectors (signs
# included) agree and the default float32 tolerances hold; no sign-invariant comparison is needed.


def test_galore_matches_optax():
    # Small rank and gap, so projection (rank < min(m, n)) and refreshes both happen.
    assert_parity(
        gdx.galore(0.01, rank=2, update_proj_gap=7),
        optax.contrib.galore(0.01, rank=2, update_proj_gap=7),
        steps=30,
    )


def test_galore_non_defaults_match_optax():
    # A 3-D leaf projected as a (2*3) x 4 matrix, a right projector (3 x 5 -> 5 x 2), Lion as base,
    # masked weight decay, a schedule.
    dims = {
        "dense": {"kernel": gdx.GaLoreDimensionNumbers(), "bias": None},
        "conv": (gdx.GaLoreDimensionNumbers(reduction_axis=(0, 1), output_axis=2),),
        "scale": None,
        "matrix": gdx.GaLoreDimensionNumbers(reduction_axis=1, output_axis=0),
        "embedding": None,
    }
    optax_dims = jax.tree.map(
        lambda d: optax.contrib.GaLoreDimensionNumbers(*d),
        dims,
        is_leaf=lambda d: isinstance(d, tuple) and hasattr(d, "_fields"),
    )
    mask = lambda params: jax.tree.map(lambda p: p.ndim > 1, params)  # noqa: E731
    common: dict[str, Any] = dict(rank=3, update_proj_gap=4, scale=0.5, weight_decay=1e-2, mask=mask)
    assert_parity(
        gdx.galore(
            schedule, base_optimizer=gdx.scale_by_lion(b1=0.8), weight_dimension_numbers=dims, **common
        ),
        optax.contrib.galore(
            schedule,
            base_optimizer=optax.scale_by_lion(b1=0.8),
            weight_dimension_numbers=optax_dims,
            **common,
        ),
        steps=20,
    )


# --- Sophia ----------------------------------------------------------------------------------
# optax's Hutchinson estimator fails on trees mixing float32 and bfloat16 params (it casts the
# probe to the lowest dtype; jvp then rejects it), so the parity runs use an all-float32 tree;
# tests/optimizers/test_contrib_rest_behaviour.py runs gdx on the mixed tree.

SOPHIA_PARAMS = {
    "w": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3),
    "b": jnp.array([0.3, -0.2]),
    "s": jnp.array(0.7),
}


def sophia_objective(params):
    return sum(jnp.sum(0.5 * x**2 + 0.1 * x**4) for x in jax.tree.leaves(params))


def test_sophia_matches_optax():
    assert_parity(
        gdx.sophia(0.01),
        optax.contrib.sophia(0.01),
        steps=40,
        params=SOPHIA_PARAMS,
        extra_args=lambda params, step: {"obj_fn": sophia_objective},
    )


def test_sophia_non_defaults_match_optax():
    common: dict[str, Any] = dict(
        b1=0.9, b2=0.95, eps=1e-6, weight_decay=1e-3, gamma=0.05, clip_threshold=0.5, update_interval=3
    )
    key = jax.random.PRNGKey(4)
    assert_parity(
        gdx.sophia(schedule, hessian_diagonal_fn=gdx.hutchinson_estimator_diag_hessian(key), **common),
        optax.contrib.sophia(
            schedule, hessian_diagonal_fn=optax.contrib.hutchinson_estimator_diag_hessian(key), **common
        ),
        steps=40,
        params=SOPHIA_PARAMS,
        extra_args=lambda params, step: {"obj_fn": sophia_objective},
    )
