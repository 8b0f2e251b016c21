"""Catalog B against optax: Adafactor, SM3, Fromage, noisy SGD, Polyak SGD, DoG, block
scaling, adaptive and per-example clipping, constraints, normalisation.

Params are compared after every step and the final states leaf by leaf.
Main cases run 100 steps; variants fewer (compile time dominates a case).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import TOLERANCES, assert_parity, make_params, optax_promotion, run_trajectory

MASK = {
    "dense": {"kernel": True, "bias": False},
    "conv": (True,),
    "scale": False,
    "matrix": True,
    "embedding": True,
}


def decaying(count):
    return 1e-2 * 0.99 ** count.astype(jnp.float32)


def params_without_scalar(*, bfloat16=True):
    params = make_params(0, bfloat16=bfloat16)
    del params["scale"]
    return params


def half_squared_norm(params, step):
    """A loss value for Polyak's step: any deterministic function of the params will do.

    The bfloat16 leaf is left out: gdx rounds its update to bfloat16 (updates keep the
    grads' dtype) where optax adds a float32 update, and a loss that saw that rounding
    would pass it on to every float32 leaf through the step size.
    """
    del step
    leaves = [p for p in jax.tree.leaves(params) if p.dtype == jnp.float32]
    return {"value": sum(0.5 * jnp.sum(jnp.square(p)) for p in leaves)}


def both(name, *args, **kwargs):
    return getattr(gdx, name)(*args, **kwargs), getattr(optax, name)(*args, **kwargs)


def check_transform(name, kwargs, steps, step_size=-0.05, **parity):
    ours, theirs = both(name, **kwargs)
    assert_parity(
        gdx.chain(ours, gdx.scale(step_size)),
        optax.chain(theirs, optax.scale(step_size)),
        steps=steps,
        **parity,
    )


# --- transforms ---------------------------------------------------------------------------------

TRANSFORM_CASES = [
    ("scale_by_factored_rms", {}, 100),
    ("scale_by_factored_rms", dict(min_dim_size_to_factor=2), 100),  # factors the 2-D and 3-D leaves
    ("scale_by_param_block_norm", {}, 100),
    ("scale_by_param_block_rms", {}, 100),
    ("adaptive_grad_clip", dict(clipping=0.1), 100),
    ("clip_by_block_rms", dict(threshold=0.5), 100),
    ("centralize", {}, 100),
    ("normalize_by_update_norm", {}, 100),
]


@pytest.mark.parametrize(
    "name, kwargs, steps",
    TRANSFORM_CASES,
    ids=[f"{name}-{'-'.join(kwargs) or 'defaults'}" for name, kwargs, _ in TRANSFORM_CASES],
)
def test_transform(name, kwargs, steps):
    check_transform(name, kwargs, steps)


def capped_decay(step, decay_rate):
    return jnp.minimum(1.0 - (step.astype(jnp.float32) + 1.0) ** (-decay_rate), 0.9)


# Non-default hyperparameters, several transformations per case (one compilation per case).
VARIANT_CHAINS = {
    "factored-offset_block-norm_block-clip_agc-eps": [
        (
            "scale_by_factored_rms",
            dict(min_dim_size_to_factor=3, decay_rate=0.5, step_offset=2, epsilon=1e-20),
        ),
        ("clip_by_block_rms", dict(threshold=2.0)),
        ("adaptive_grad_clip", dict(clipping=0.5, eps=0.5)),
        ("scale_by_param_block_norm", dict(min_scale=2.0)),
    ],
    "unfactored-custom-decay_block-rms_normalize": [
        ("scale_by_factored_rms", dict(factored=False, decay_rate=0.9, decay_rate_fn=capped_decay)),
        ("scale_by_param_block_rms", dict(min_scale=1.0)),
        ("normalize_by_update_norm", dict(scale_factor=-0.5, eps=1e-3)),
    ],
}


@pytest.mark.parametrize("members", VARIANT_CHAINS.values(), ids=VARIANT_CHAINS.keys())
def test_transform_variants(members):
    ours = [getattr(gdx, name)(**kwargs) for name, kwargs in members]
    theirs = [getattr(optax, name)(**kwargs) for name, kwargs in members]
    assert_parity(gdx.chain(*ours, gdx.scale(-0.05)), optax.chain(*theirs, optax.scale(-0.05)), steps=30)


# optax's SM3 raises on 0-d leaves (gdx handles them: tests/optimizers/test_catalog_b_behaviour.py).
def test_scale_by_sm3():
    check_transform("scale_by_sm3", {}, 100, params=params_without_scalar())


def test_scale_by_sm3_and_adaptive_grad_clip_with_axis():
    # optax needs `axis` to exist in every leaf, so no 0-d leaf here either.
    assert_parity(
        gdx.chain(
            gdx.adaptive_grad_clip(0.2, axis=-1),
            gdx.scale_by_sm3(b1=0.5, b2=0.99, eps=1e-6),
            gdx.scale(-0.05),
        ),
        optax.chain(
            optax.adaptive_grad_clip(0.2, axis=-1),
            optax.scale_by_sm3(b1=0.5, b2=0.99, eps=1e-6),
            optax.scale(-0.05),
        ),
        steps=30,
        params=params_without_scalar(),
    )


# optax's DoG turns a 0-d leaf's update into shape (1,), and changes a bfloat16 leaf's state
# dtype at the first step unless param_dtype is bfloat16 too: both are avoided here.
def test_scale_by_distance_over_gradients():
    check_transform(
        "scale_by_distance_over_gradients",
        {},
        100,
        step_size=-1.0,
        params=params_without_scalar(bfloat16=False),
    )


def test_scale_by_distance_over_gradients_bfloat16_state_and_global_scale():
    kwargs = dict(reps_rel=1e-4, eps=1e-6, param_dtype=jnp.bfloat16, global_scale=-0.5)
    check_transform(
        "scale_by_distance_over_gradients", kwargs, 30, step_size=1.0, params=params_without_scalar()
    )


@pytest.mark.parametrize(
    "kwargs, steps",
    [({}, 100), (dict(f_min=-1.0, max_learning_rate=0.3, eps=1e-3, variant="sps+"), 30)],
    ids=["defaults", "sps+"],
)
def test_scale_by_polyak(kwargs, steps):
    # Steps small next to the params, so that gdx's bfloat16 update (optax's is float32)
    # rounds the bfloat16 leaf the same way.
    check_transform("scale_by_polyak", kwargs, steps, step_size=-0.05, extra_args=half_squared_norm)


def test_zero_nans_zeroes_and_records_nans():
    def nan_where_large(make_stateless):
        return make_stateless(lambda u, p: jax.tree.map(lambda x: jnp.where(x > 1.5, jnp.nan, x), u))

    assert_parity(
        gdx.chain(nan_where_large(gdx.stateless), gdx.zero_nans(), gdx.scale(-0.05)),
        optax.chain(nan_where_large(optax.stateless), optax.zero_nans(), optax.scale(-0.05)),
        steps=100,
    )


def test_keep_params_nonnegative():
    assert_parity(
        gdx.chain(gdx.scale(-0.2), gdx.keep_params_nonnegative()),
        optax.chain(optax.scale(-0.2), optax.keep_params_nonnegative()),
        steps=100,
    )


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


# --- optimizers ---------------------------------------------------------------------------------

OPTIMIZER_CASES = [
    ("adafactor", dict(learning_rate=1e-2, min_dim_size_to_factor=2), 100),
    ("adafactor", {}, 50),
    (
        "adafactor",
        dict(
            learning_rate=decaying,
            min_dim_size_to_factor=3,
            decay_rate=0.5,
            decay_offset=1,
            momentum=0.9,
            dtype_momentum=jnp.bfloat16,
            weight_decay_rate=1e-3,
            weight_decay_mask=MASK,
            eps=1e-20,
        ),
        50,
    ),
    (
        "adafactor",
        dict(learning_rate=0.05, clipping_threshold=None, multiply_by_parameter_scale=False, factored=False),
        30,
    ),
    (
        "adafactor",
        dict(learning_rate=0.05, clipping_threshold=0.5, momentum=0.5, weight_decay_rate=decaying),
        30,
    ),
    ("fromage", dict(learning_rate=1e-2), 100),
    ("fromage", dict(learning_rate=decaying, min_norm=1e-2), 50),
]


@pytest.mark.parametrize(
    "name, kwargs, steps",
    OPTIMIZER_CASES,
    ids=[f"{name}-{'-'.join(kwargs) or 'defaults'}" for name, kwargs, _ in OPTIMIZER_CASES],
)
def test_optimizer(name, kwargs, steps):
    assert_parity(*both(name, **kwargs), steps=steps)


@pytest.mark.parametrize(
    "kwargs, steps",
    [(dict(learning_rate=1e-2), 100), (dict(learning_rate=0.1, momentum=0.5), 30)],
    ids=["default", "momentum"],
)
def test_sm3(kwargs, steps):
    # optax's sm3 takes no schedule and no 0-d leaf; gdx takes both (behaviour tests).
    assert_parity(*both("sm3", **kwargs), steps=steps, params=params_without_scalar())


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


def test_polyak_sgd_defaults():
    # Unit steps on a bfloat16 leaf would drift apart by rounding (gdx's update is bfloat16,
    # optax's float32), so the main case is float32 only; the variants have a bfloat16 leaf.
    params = make_params(0, bfloat16=False)
    assert_parity(*both("polyak_sgd"), steps=100, extra_args=half_squared_norm, params=params)


@pytest.mark.parametrize(
    "kwargs, steps",
    [
        (dict(max_learning_rate=0.05, scaling=decaying, f_min=-1.0, eps=1e-3, variant="sps+"), 30),
        (dict(max_learning_rate=0.02, scaling=0.5), 20),
    ],
    ids=["schedule-sps+", "scaling"],
)
def test_polyak_sgd(kwargs, steps):
    assert_parity(*both("polyak_sgd", **kwargs), steps=steps, extra_args=half_squared_norm)


# --- functions of per-example gradients, and scale_gradient ---------------------------------------


def per_example_grads(dtype=jnp.float32):
    keys = jax.random.split(jax.random.key(4), 3)
    return {
        "w": jax.random.normal(keys[0], (5, 3, 2), jnp.float32).astype(dtype),
        "b": (2.0 * jax.random.normal(keys[1], (5, 2), jnp.float32)).astype(dtype),
        "s": jax.random.normal(keys[2], (5,), jnp.float32).astype(dtype),
    }


def assert_same_tree(ours, theirs, rtol=1e-6):
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("clip", [0.0, 0.5, 1.5, 3.0, jnp.inf])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16], ids=["f32", "bf16"])
def test_per_example_global_norm_clip(clip, dtype):
    grads = per_example_grads(dtype)
    with jax.numpy_dtype_promotion("strict"):
        ours = gdx.per_example_global_norm_clip(grads, clip)
    with optax_promotion():
        theirs = optax.per_example_global_norm_clip(grads, clip)
    assert_same_tree(ours, theirs, rtol=1e-6 if dtype == jnp.float32 else 1e-2)


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("clip", [0.0, 1.0, 2.5, jnp.inf])
def test_per_example_layer_norm_clip(clip, uniform):
    grads = per_example_grads()
    with jax.numpy_dtype_promotion("strict"):
        ours = gdx.per_example_layer_norm_clip(grads, clip, uniform)
    with optax_promotion():
        theirs = optax.per_example_layer_norm_clip(grads, clip, uniform)
    assert_same_tree(ours, theirs)


@pytest.mark.parametrize("scale", [0.0, 1.0, 0.5, -3.0])
def test_scale_gradient(scale):
    x = {"a": jnp.array([1.0, -2.0, 3.0]), "b": jnp.array(0.5)}

    def loss(scaler, x):
        y = scaler(x, scale)
        return jnp.sum(y["a"] ** 3) + y["b"] ** 2

    with jax.numpy_dtype_promotion("strict"):
        ours_value, ours_grad = jax.value_and_grad(lambda x: loss(gdx.scale_gradient, x))(x)
    theirs_value, theirs_grad = jax.value_and_grad(lambda x: loss(optax.scale_gradient, x))(x)
    np.testing.assert_array_equal(ours_value, theirs_value)
    assert_same_tree(ours_grad, theirs_grad)
