"""Flat-params mode (`gdx.flat`): layout, autodiff, optimizer equality with the tree, errors, jit, pmap."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import gdx
from tests.parity.harness import grad_sequence, make_params


def mixed_params():
    """Nested dicts and a list, a scalar, a 3-D leaf and a bfloat16 leaf."""
    params = make_params(0)
    params["layers"] = [jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3), {"b": jnp.ones((4,), jnp.float32)}]
    return params


def assert_trees_equal(got, expected, **tol):
    assert jax.tree.structure(got) == jax.tree.structure(expected)
    for g, e in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(np.asarray(g, np.float32), np.asarray(e, np.float32), **tol)


def test_round_trip_mixed_tree_keeps_bfloat16_in_its_own_buffer():
    params = mixed_params()
    flat, unravel = gdx.flat.ravel(params)
    n32 = sum(x.size for x in jax.tree.leaves(params) if x.dtype == jnp.float32)
    assert set(flat) == {"float32", "bfloat16"}
    assert flat["float32"].shape == (n32,) and flat["bfloat16"].shape == (12,)
    assert flat["bfloat16"].dtype == jnp.bfloat16
    assert_trees_equal(unravel(flat), params, rtol=0, atol=0)
    assert_trees_equal(jax.jit(lambda f, u: u(f))(flat, unravel), params, rtol=0, atol=0)
    # Resuming from a checkpointed tree gives the same layout.
    again, unravel_again = gdx.flat.ravel(unravel(flat))
    assert_trees_equal(again, flat, rtol=0, atol=0)
    assert jax.tree.structure(unravel_again) == jax.tree.structure(unravel)


def test_round_trip_flax_nnx_state():
    model = nnx.Sequential(nnx.Linear(3, 4, rngs=nnx.Rngs(0)), nnx.LayerNorm(4, rngs=nnx.Rngs(1)))
    state = nnx.state(model, nnx.Param)
    expected = jax.tree.map(lambda x: x * 2, state)  # computed now: the state aliases the model
    flat, unravel = gdx.flat.ravel(state)
    nnx.update(model, unravel(jax.tree.map(lambda x: x * 2, flat)))
    assert_trees_equal(nnx.state(model, nnx.Param), expected, rtol=0, atol=0)


def loss_fn(params, x):
    dense = params["dense"]
    z = x @ dense["kernel"]
    h = jnp.tanh(z + jnp.broadcast_to(dense["bias"], z.shape)) * params["scale"]
    extra = jnp.sum(params["matrix"] ** 2) + jnp.sum(params["conv"][0] ** 3)
    return jnp.mean(h**2) + extra + jnp.sum(params["embedding"].astype(jnp.float32))


def test_grads_through_unravel_equal_tree_grads_with_one_concatenate():
    params, x = mixed_params(), jnp.ones((5, 4), jnp.float32)
    flat, unravel = gdx.flat.ravel(params)
    grad_flat = jax.jit(jax.grad(lambda f, u, x: loss_fn(u(f), x)))
    got = grad_flat(flat, unravel, x)
    expected = jax.grad(loss_fn)(params, x)
    assert_trees_equal(unravel(got), expected, rtol=1e-6, atol=1e-6)
    # No-extra-copy autodiff: the flat gradient is one concatenate per dtype buffer,
    # not a chain of pad / dynamic-update-slice per leaf.
    hlo = grad_flat.lower(flat, unravel, x).compile().as_text() or ""
    assert 1 <= len(re.findall(r" concatenate\(", hlo)) <= 2  # the bf16 grad here is a constant
    assert not re.search(r" (pad|dynamic-update-slice)\(", hlo)


def test_grads_through_unravel_with_many_leaves_concatenate_in_groups():
    # More leaves than one concatenate group: the cotangent is built in two levels.
    from gdx.flat import _CONCAT_GROUP

    count = 2 * _CONCAT_GROUP + 5
    rng = np.random.default_rng(0)
    params = {f"w{i:04d}": jnp.asarray(rng.standard_normal(1 + i % 7), jnp.float32) for i in range(count)}
    weights = {k: jnp.float32(i + 1) for i, k in enumerate(params)}

    def loss(tree):
        return sum(jnp.sum(jnp.sin(tree[k]) * w) for k, w in weights.items())

    flat, unravel = gdx.flat.ravel(params)
    grad_flat = jax.jit(jax.grad(lambda f, u: loss(u(f))))
    assert_trees_equal(unravel(grad_flat(flat, unravel)), jax.grad(loss)(params), rtol=1e-6, atol=1e-6)
    hlo = grad_flat.lower(flat, unravel).compile().as_text() or ""
    assert not re.search(r" (pad|dynamic-update-slice)\(", hlo)


def _schedule():
    return gdx.warmup_cosine_decay_schedule(0.0, 1e-2, 2, 10)


ELEMENTWISE = {
    "sgd": lambda: gdx.sgd(1e-2),
    "momentum": lambda: gdx.sgd(1e-2, momentum=0.9, nesterov=True),
    "adam": lambda: gdx.adam(1e-2),
    "adamw": lambda: gdx.adamw(1e-2, weight_decay=0.1),
    "nadam": lambda: gdx.nadam(1e-2),
    "rmsprop": lambda: gdx.rmsprop(1e-2, momentum=0.9),
    "adagrad": lambda: gdx.adagrad(1e-2),
    "lion": lambda: gdx.lion(1e-3, weight_decay=0.1),
    "clip_adamw_schedule": lambda: gdx.chain(
        gdx.clip_by_global_norm(1.0), gdx.adamw(_schedule(), weight_decay=0.1)
    ),
}


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_flat_steps_equal_tree_steps(name):
    tx, steps = ELEMENTWISE[name](), 4
    params = make_params(1)
    grads = grad_sequence(params, steps, seed=2)

    @jax.jit
    def both(params, grads):
        flat, unravel = gdx.flat.ravel(params)
        tree_state, flat_state = tx.init(params), tx.init(flat)
        for i in range(steps):
            g = jax.tree.map(lambda x, i=i: x[i], grads)
            updates, tree_state = tx.update(g, tree_state, params)
            params = gdx.apply_updates(params, updates)
            flat_updates, flat_state = tx.update(gdx.flat.ravel(g)[0], flat_state, flat)
            flat = gdx.apply_updates(flat, flat_updates)
        return params, unravel(flat)

    expected, got = both(params, grads)
    f32 = lambda tree: {k: v for k, v in tree.items() if k != "embedding"}
    # Element-wise rules see the same numbers in the same order: float32 rtol 1e-6.
    # clip_by_global_norm sums squares per buffer instead of per leaf, a different
    # summation order: the norm (and so every update) can differ by a few ulps.
    rtol = 1e-5 if name == "clip_adamw_schedule" else 1e-6
    assert_trees_equal(f32(got), f32(expected), rtol=rtol, atol=1e-7)
    assert_trees_equal(got["embedding"], expected["embedding"], rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gdx.lamb(1e-3),
        lambda: gdx.lars(1e-3),
        lambda: gdx.novograd(1e-3),
        lambda: gdx.fromage(1e-3),
        lambda: gdx.adafactor(1e-3),
        lambda: gdx.sm3(1e-3),
    ],
    ids=["lamb", "lars", "novograd", "fromage", "adafactor", "sm3"],
)
def test_per_leaf_reductions_are_rejected(make):
    _, unravel = gdx.flat.ravel({"w": jnp.ones((3,), jnp.float32)})
    with pytest.raises(ValueError, match=r"gdx\.fuse"):
        gdx.flat.train_step(lambda p: jnp.sum(p["w"]), make(), unravel)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="no array leaves"):
        gdx.flat.ravel({})
    with pytest.raises(TypeError, match=r"params\['step'\].*int32"):
        gdx.flat.ravel({"w": jnp.ones(2), "step": jnp.zeros((), jnp.int32)})
    with pytest.raises(TypeError, match=r"params\['w'\].*float"):
        gdx.flat.ravel({"w": 1.0})
    flat, unravel = gdx.flat.ravel({"w": jnp.ones(3, jnp.float32)})
    with pytest.raises(ValueError, match=r"`flat\['float32'\]` is float32\[4\], expected float32\[3\]"):
        unravel({"float32": jnp.ones(4, jnp.float32)})
    with pytest.raises(ValueError, match=r"`flat` has buffers \['bfloat16'\]"):
        unravel({"bfloat16": jnp.ones(3, jnp.bfloat16)})
    with pytest.raises(TypeError, match="`unravel`"):
        gdx.flat.train_step(lambda p: jnp.sum(p["w"]), gdx.sgd(0.1), lambda f: f)  # pyright: ignore
    with pytest.raises(ValueError, match="check=False"):  # needs value_fn: cannot be probed
        gdx.flat.check_optimizer(gdx.lbfgs())


def test_train_step_donates_and_does_not_recompile():
    params = {"a": jnp.ones((3, 2), jnp.float32), "b": {"c": jnp.zeros((4,), jnp.float32)}}
    loss = lambda p, x: jnp.sum((p["a"] @ x) ** 2) + jnp.sum((p["b"]["c"] - 1.0) ** 2)
    flat, unravel = gdx.flat.ravel(params)
    tx = gdx.adam(0.1)
    opt_state, step = tx.init(flat), gdx.flat.train_step(loss, tx, unravel)
    x = jnp.ones((2,), jnp.float32)
    losses = []
    for _ in range(5):
        old = flat["float32"]
        flat, opt_state, value = step(flat, opt_state, x)
        assert old.is_deleted()  # donated: its buffer was reused
        losses.append(float(value))
    assert step.jitted._cache_size() == 1
    assert losses[-1] < losses[0]


def test_pmap_with_pmean_of_flat_grads_equals_single_device():
    params, tx = make_params(3, bfloat16=False), gdx.adam(1e-2)
    flat, unravel = gdx.flat.ravel(params)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 5, 4)), jnp.float32)
    loss = lambda p, x: loss_fn({**p, "embedding": jnp.zeros((1,), jnp.float32)}, x)

    def step(flat, state, unravel, x, axis_name=None):
        grads = jax.grad(lambda f: loss(unravel(f), x))(flat)
        if axis_name:
            grads = jax.lax.pmean(grads, axis_name)
        updates, state = tx.update(grads, state, flat)
        return gdx.apply_updates(flat, updates), state

    pmapped = jax.pmap(
        lambda f, s, u, x: step(f, s, u, x, "devices"), "devices", in_axes=(None, None, None, 0)
    )
    got, _ = pmapped(flat, tx.init(flat), unravel, x)
    expected, _ = jax.jit(step)(flat, tx.init(flat), unravel, x.reshape(20, 4))
    for device in range(4):
        np.testing.assert_allclose(got["float32"][device], expected["float32"], rtol=1e-6, atol=1e-7)
