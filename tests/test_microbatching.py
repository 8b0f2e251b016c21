"""gdx.microbatching against optax.microbatching: bit-identical results, eager and jitted.

gdx runs under the suite's strict dtype promotion, optax under standard
promotion (`optax_promotion`). Every comparison is exact (`assert_array_equal`
plus equal dtypes): the loop, the batch split and the accumulation arithmetic
are optax's.
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity import calls
from tests.parity.harness import optax_promotion

GT = gdx.microbatching.AccumulationType
OT = optax.microbatching.AccumulationType
DTYPES = [jnp.float32, jnp.bfloat16, jnp.float16]


def _data(dtype, batch=12, seed=0):
    rng = np.random.default_rng(seed)
    w = jnp.asarray(rng.standard_normal((3, 2)), dtype)
    x = jnp.asarray(rng.standard_normal((batch, 3)), dtype)
    y = jnp.asarray(rng.standard_normal((batch, 2)), dtype)
    return w, x, y


def loss(w, x, y):
    return jnp.mean(jnp.square(x @ w - y))


def outputs(w, x, y):
    """A pytree of outputs: a per-example array, a sum, a gradient."""
    return {"pred": x @ w, "total": jnp.sum(x, axis=0), "grad": jax.grad(loss)(w, x, y)}


def assert_trees_equal(got, expected):
    # micro_grad's per-example outputs are a namedtuple 'Aux' in both libraries, but two
    # distinct classes: compare them as plain tuples (fields are checked separately).
    is_aux = lambda node: type(node).__name__ == "Aux"  # noqa: E731
    got, expected = (
        jax.tree.map(lambda n: tuple(n) if is_aux(n) else n, t, is_leaf=is_aux) for t in (got, expected)
    )
    calls.assert_trees_equal(got, expected)


def both(build, *args, jit=False, **kwargs):
    """`build(module, types)` for gdx and for optax, each called on `args` (jitted or eager)."""
    gdx_fn = build(gdx.microbatching, GT)
    optax_fn = build(optax.microbatching, OT)
    if jit:
        gdx_fn, optax_fn = jax.jit(gdx_fn), jax.jit(optax_fn)
    got = gdx_fn(*args, **kwargs)
    with optax_promotion():
        expected = optax_fn(*args, **kwargs)
    return got, expected


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["SUM", "MEAN", "RUNNING_MEAN"])
@pytest.mark.parametrize("jit", [False, True])
def test_gradient_accumulation_matches_optax(dtype, kind, jit):
    w, x, y = _data(dtype)
    got, expected = both(
        lambda m, t: m.microbatch(jax.grad(loss), argnums=(1, 2), microbatch_size=3, accumulator=t[kind]),
        w,
        x,
        y,
        jit=jit,
    )
    assert_trees_equal(got, expected)
    assert got.dtype == dtype


@pytest.mark.parametrize("microbatch_size", [1, 2, 4, 12])
@pytest.mark.parametrize("jit", [False, True])
def test_pytree_accumulator_matches_optax(microbatch_size, jit):
    w, x, y = _data(jnp.float32)

    def build(m, t):
        accumulator = {"pred": t.CONCAT, "total": t.SUM, "grad": t.MEAN}
        return m.microbatch(outputs, argnums=(1, 2), microbatch_size=microbatch_size, accumulator=accumulator)

    got, expected = both(build, w, x, y, jit=jit)
    assert_trees_equal(got, expected)
    # CONCAT restores batch order. Against the full-batch product only up to rounding:
    # XLA's CPU dot may sum a (1, 3) @ (3, 2) product in another order than (12, 3) @ (3, 2).
    np.testing.assert_allclose(got["pred"], x @ w, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["SUM", "MEAN", "RUNNING_MEAN", "CONCAT"])
def test_kwargs_in_axes_and_early_stop_match_optax(kind):
    rng = np.random.default_rng(1)
    a = jnp.asarray(rng.standard_normal((8, 4, 5)), jnp.float32)
    b = jnp.transpose(a, (1, 0, 2))

    def fun(a, *, b, scale):
        return scale * jnp.einsum("bij,kbj->ik", a, b)

    def build(m, t):
        return m.microbatch(
            fun,
            argnums=0,
            microbatch_size=2,
            accumulator=t[kind],
            argnames="b",
            in_axes=(0, 1),
            num_real_microbatches=3,
        )

    got, expected = both(build, a, b=b, scale=jnp.float32(0.5))
    assert_trees_equal(got, expected)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_traced_num_real_microbatches(dtype):
    w, x, y = _data(dtype, batch=16)

    def build(m, t, kind):
        def run(steps, w, x, y):
            return m.microbatch(
                jax.grad(loss),
                argnums=(1, 2),
                microbatch_size=4,
                accumulator=t[kind],
                num_real_microbatches=steps,
            )(w, x, y)

        return jax.jit(run)

    for kind in ["SUM", "MEAN"] + (["RUNNING_MEAN"] if dtype == jnp.float32 else []):
        got = build(gdx.microbatching, GT, kind)(jnp.int32(3), w, x, y)
        with optax_promotion():
            expected = build(optax.microbatching, OT, kind)(jnp.int32(3), w, x, y)
        assert_trees_equal(got, expected)
    # optax's loop fails on a bfloat16 running mean with a traced step count (its float32
    # weight changes the carry's dtype); gdx keeps the carry's dtype.
    got = build(gdx.microbatching, GT, "RUNNING_MEAN")(jnp.int32(3), w, x, y)
    assert got.dtype == dtype
    as_f32 = [v.astype(jnp.float32) for v in (w, x, y)]
    reference = build(gdx.microbatching, GT, "RUNNING_MEAN")(jnp.int32(3), *as_f32)
    # bfloat16 inputs against the float32 computation: a few bfloat16 ulps.
    np.testing.assert_allclose(np.asarray(got, np.float32), reference, rtol=3e-2, atol=3e-2)


def test_early_stop_concat_leaves_zeros_for_skipped_microbatches():
    x = jnp.arange(12, dtype=jnp.float32) + 1
    out = gdx.microbatch(
        lambda v: v, argnums=0, microbatch_size=3, accumulator=GT.CONCAT, num_real_microbatches=2
    )(x)
    np.testing.assert_array_equal(out != 0, np.arange(12) % 4 < 2)


def test_microbatch_size_none_returns_fun():
    assert gdx.microbatch(loss, argnums=1, microbatch_size=None) is loss


def test_custom_accumulator_and_optax_accumulators_are_accepted():
    x = jnp.asarray(np.random.default_rng(2).standard_normal(12), jnp.float32)
    running_max = gdx.microbatching.Accumulator(
        init=lambda s: jnp.full(s.shape, -jnp.inf, s.dtype),
        update=lambda carry, value, _: jnp.maximum(carry, value),
        finalize=lambda carry: carry,
        aggregate=lambda v: jnp.max(v, axis=0),
    )
    got = gdx.microbatch(jnp.max, argnums=0, microbatch_size=4, accumulator=running_max)(x)
    assert got == jnp.max(x)
    # optax's enum and optax's Accumulator class work with gdx's microbatch too (mixed ports).
    as_optax = optax.microbatching.Accumulator(
        running_max.init, running_max.update, running_max.finalize, running_max.aggregate
    )
    assert gdx.microbatch(jnp.max, argnums=0, microbatch_size=4, accumulator=as_optax)(x) == jnp.max(x)
    np.testing.assert_array_equal(
        gdx.microbatch(jnp.sum, argnums=0, microbatch_size=4, accumulator=OT.MEAN)(x),
        gdx.microbatch(jnp.sum, argnums=0, microbatch_size=4, accumulator=GT.MEAN)(x),
    )


@pytest.mark.parametrize("jit", [False, True])
def test_micro_vmap_matches_optax_and_vmap(jit):
    x = jnp.asarray(np.random.default_rng(3).standard_normal((2, 8, 3)), jnp.float32)
    c = jnp.asarray(np.random.default_rng(4).standard_normal(3), jnp.float32)

    def fun(x, c, *, y):
        return jnp.sum(x * jnp.broadcast_to(c, x.shape)) + y  # explicit: rank promotion raises

    y = jnp.arange(8, dtype=jnp.float32)
    for kind in ["CONCAT", "SUM", "MEAN"]:
        got, expected = both(
            lambda m, t, kind=kind: m.micro_vmap(
                fun, in_axes=(1, None), microbatch_size=2, accumulator=t[kind]
            ),
            x,
            c,
            y=y,
            jit=jit,
        )
        assert_trees_equal(got, expected)
    got = gdx.microbatching.micro_vmap(fun, in_axes=(1, None), microbatch_size=4)(x, c, y=y)
    np.testing.assert_allclose(got, jax.vmap(fun, in_axes=(1, None))(x, c, y=y), rtol=1e-6)


@pytest.mark.parametrize("keep_batch_dim", [False, True])
@pytest.mark.parametrize("jit", [False, True])
def test_micro_grad_matches_optax(keep_batch_dim, jit):
    w, x, y = _data(jnp.float32, batch=8)

    def per_example_loss(w, x, y):
        value = jnp.mean(jnp.square(x @ w - y))
        return value, {"value_twice": 2 * value}

    def build(m, t):
        return m.micro_grad(
            per_example_loss,
            has_aux=True,
            batch_argnums=(1, 2),
            keep_batch_dim=keep_batch_dim,
            microbatch_size=2,
            accumulator=t.MEAN,
            transform_fn=lambda g: (g, jnp.square(g)),
            metrics_fn=jnp.linalg.norm,
        )

    got, expected = both(build, w, x, y, jit=jit)
    assert_trees_equal(got, expected)
    assert type(got[1]).__name__ == "Aux" and got[1]._fields == ("values", "metrics", "aux")


def test_micro_grad_defaults_match_optax():
    got, expected = both(
        lambda m, t: m.micro_grad(lambda c, x: c * jnp.sum(x)), jnp.float32(1.5), jnp.ones(16)
    )
    assert_trees_equal(got, expected)
    assert got[1].metrics is None and got[1].aux is None


@pytest.mark.parametrize("axis", [0, 1])
def test_reshape_batch_axis_matches_optax(axis):
    tree = {"a": jnp.arange(24.0).reshape(4, 6), "b": (jnp.arange(48).reshape(4, 6, 2),)}
    got = gdx.microbatching.reshape_batch_axis(tree, 2, axis)
    expected = optax.microbatching.reshape_batch_axis(tree, 2, axis)
    assert_trees_equal(got, expected)


def test_explicit_sharding_of_the_batch_axis_is_kept():
    # optax 0.2.8 means to do the same, but compares version strings ('0.10.2' < '0.7.0'),
    # so on jax >= 0.10 it takes its pre-0.7 path and jax rejects the reshape.
    explicit = jax.sharding.AxisType.Explicit
    mesh = jax.make_mesh((4,), ("data",), axis_types=(explicit,), devices=jax.devices()[:4])
    x = jax.device_put(jnp.arange(32.0).reshape(16, 2), jax.NamedSharding(mesh, jax.P("data")))
    with jax.set_mesh(mesh):
        reshaped = jax.jit(lambda v: gdx.microbatching.reshape_batch_axis(v, 4))(x)
        summed = jax.jit(gdx.microbatch(lambda v: jnp.sum(v, axis=0), argnums=0, microbatch_size=4))(x)
        concat = jax.jit(
            gdx.microbatch(lambda v: 2 * v, argnums=0, microbatch_size=4, accumulator=GT.CONCAT)
        )(x)
        with pytest.raises(ValueError, match="must evenly divide"):
            gdx.microbatching.reshape_batch_axis(x, 2)
    np.testing.assert_array_equal(reshaped, np.arange(32.0).reshape(16, 2).reshape(4, 4, 2, order="F"))
    assert tuple(reshaped.sharding.spec)[:2] == (None, "data")  # the micro-batch axis is replicated
    np.testing.assert_array_equal(summed, jnp.sum(x, axis=0))
    np.testing.assert_array_equal(concat, 2 * np.arange(32.0).reshape(16, 2))
    assert tuple(concat.sharding.spec)[:1] == ("data",)


def test_public_names_and_signatures_match_optax():
    public = {n for n in dir(optax.microbatching) if not n.startswith("_")}
    assert public <= set(dir(gdx.microbatching))
    assert gdx.microbatch is gdx.microbatching.microbatch
    for name in ["microbatch", "micro_vmap", "micro_grad", "reshape_batch_axis"]:
        ours = inspect.signature(getattr(gdx.microbatching, name)).parameters
        theirs = inspect.signature(getattr(optax.microbatching, name)).parameters
        assert list(ours) == list(theirs), name
        for p in theirs:
            assert ours[p].kind == theirs[p].kind, (name, p)
            if p in ("transform_fn", "metrics_fn"):  # optax's defaults are lambdas
                continue
            default = theirs[p].default
            if isinstance(default, OT):
                assert ours[p].default is GT[default.name], (name, p)
            else:
                assert ours[p].default == default, (name, p)
    assert [m.name for m in GT] == [m.name for m in OT]


class TestBadInput:
    @pytest.mark.parametrize("size", [0, -2])
    def test_non_positive_microbatch_size(self, size):
        with pytest.raises(ValueError, match="microbatch: microbatch_size must be an integer >= 1"):
            gdx.microbatch(loss, argnums=1, microbatch_size=size)

    @pytest.mark.parametrize("size", [2.5, "2"])
    def test_non_integer_microbatch_size(self, size):
        with pytest.raises(TypeError, match="microbatch_size"):
            gdx.microbatch(loss, argnums=1, microbatch_size=size)  # pyright: ignore[reportArgumentType]
        with pytest.raises(TypeError, match="micro_vmap: microbatch_size"):
            gdx.microbatching.micro_vmap(jnp.sum, microbatch_size=size)  # pyright: ignore[reportArgumentType]

    def test_unknown_accumulator(self):
        with pytest.raises(ValueError, match="microbatch: accumulator must be"):
            gdx.microbatch(loss, argnums=1, microbatch_size=2, accumulator="sum")
        with pytest.raises(ValueError, match="micro_grad: accumulator must be"):
            gdx.microbatching.micro_grad(loss, accumulator={"a": 3})

    def test_in_axes_length(self):
        with pytest.raises(ValueError, match="in_axes must have one entry per batch argument"):
            gdx.microbatch(loss, argnums=(1, 2), microbatch_size=2, in_axes=(0,))

    def test_batch_errors_at_call_time_as_optax(self):
        w, x, y = _data(jnp.float32, batch=10)
        with pytest.raises(ValueError, match="divisible"):
            gdx.microbatch(loss, argnums=(1, 2), microbatch_size=3)(w, x, y)
        with pytest.raises(ValueError, match="equal-size batch axes"):
            gdx.microbatch(loss, argnums=(1, 2), microbatch_size=2)(w, x, y[:8])
        with pytest.raises(ValueError, match="floating-point"):
            gdx.microbatch(jnp.sum, argnums=0, microbatch_size=2, accumulator=GT.MEAN)(jnp.arange(4))
        with pytest.raises(NotImplementedError):
            gdx.microbatching.micro_vmap(jnp.sum, out_axes=1)
