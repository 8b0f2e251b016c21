"""`gdx.tree` against `optax.tree`, function by function, bit for bit.

Inputs are the harness's random pytrees of mixed shapes (nested dict and
tuple, a scalar leaf, a bfloat16 leaf), a second tree whose bfloat16 leaf
is float32 (so leaves of different dtypes meet), and a complex tree. gdx runs
under the suite's strict promotion, optax under standard promotion. Results
must have optax's structure, dtypes and bytes (so -0.0 vs 0.0 would fail).
"""

import inspect

import jax
import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_bit_identical, make_params, optax_promotion

X = make_params(0)
Y = make_params(1)
Y_MIXED = {**Y, "embedding": Y["embedding"].astype(jnp.float32)}  # bf16 leaf of X meets float32
Z = make_params(2)
COMPLEX = jax.tree.map(jax.lax.complex, make_params(3, bfloat16=False), make_params(4, bfloat16=False))
COMPLEX_Y = jax.tree.map(lambda a: jnp.asarray(2 - 0.5j, jnp.complex64) * a, COMPLEX)


def both(name, *args, jit=False, **kwargs):
    """(gdx.tree.<name>(*args), optax.tree.<name>(*args)), each optionally jitted."""
    ours, theirs = getattr(gdx.tree, name), getattr(optax.tree, name)
    if jit:  # Python keyword arguments (ord, squared, ...) are static, arrays are traced
        static = tuple(k for k, v in kwargs.items() if not isinstance(v, jax.Array))
        ours, theirs = jax.jit(ours, static_argnames=static), jax.jit(theirs, static_argnames=static)
    got = ours(*args, **kwargs)
    with optax_promotion():
        expected = theirs(*args, **kwargs)
    return got, expected


CASES = [
    ("add", (X, Y), {}),
    ("add", (X, Y_MIXED, Z), {}),
    ("add", ({"a": 1.0, "b": 2}, {"a": 0.5, "b": 3}), {}),  # Python numbers stay Python numbers
    ("add", ({"neg_zero": -jnp.zeros(3)}, {"neg_zero": -jnp.zeros(3)}), {}),  # 0 + -0 + -0 is +0
    ("sub", (X, Y), {}),
    ("sub", (Y_MIXED, X), {}),
    ("mul", (X, Y_MIXED), {}),
    ("div", (X, Y), {}),
    ("div", (COMPLEX, COMPLEX_Y), {}),
    ("scale", (0.3, X), {}),
    ("scale", (jnp.asarray(-1.7, jnp.float32), X), {}),
    ("scale", (jnp.asarray(2.5, jnp.bfloat16), X), {}),
    ("scale", (1.5, {"ints": jnp.arange(4, dtype=jnp.int32)}), {}),  # float x int: standard promotion
    ("add_scale", (X, 0.1, Y), {}),
    ("add_scale", (X, jnp.asarray(-3.0, jnp.float32), Y_MIXED), {}),
    ("vdot", (X, Y), {}),
    ("vdot", (X, Y_MIXED), {}),
    ("vdot", (COMPLEX, COMPLEX_Y), {}),
    ("sum", (X,), {}),
    ("sum", (COMPLEX,), {}),
    ("sum", (X,), {"associative_reduction": True}),
    ("max", (X,), {}),
    ("min", (X,), {}),
    ("max", ({"empty": jnp.zeros((0,)), "x": X["matrix"]},), {}),
    ("min", ({"empty": jnp.zeros((0,))},), {}),
    ("conj", (COMPLEX,), {}),
    ("real", (COMPLEX,), {}),
    ("norm", (X,), {}),
    ("norm", (X,), {"ord": 2}),
    ("norm", (X,), {"squared": True}),
    ("norm", (COMPLEX,), {}),
    ("norm", (X,), {"ord": 1}),
    ("norm", ({"ints": jnp.arange(-3, 4, dtype=jnp.int32)},), {"ord": 1}),
    ("norm", (X,), {"ord": 1, "squared": True}),
    ("norm", (COMPLEX,), {"ord": 1}),
    ("norm", (X,), {"ord": jnp.inf}),
    ("norm", (X,), {"ord": "inf", "squared": True}),
    ("norm", (COMPLEX,), {"ord": "infinity"}),
    ("where", (True, X, Y), {}),
    ("where", (jnp.asarray(False), X, Y_MIXED), {}),
    ("clip", (X,), {}),
    ("clip", (X, -0.5, 0.5), {}),
    ("clip", (X,), {"max_value": 0.1}),
    ("clip", (X,), {"min_value": jnp.asarray(-0.2, jnp.float32)}),
    ("batch_shape", (X, (2, 3)), {}),
    ("batch_shape", (X,), {}),
    ("zeros_like", (X,), {}),
    ("zeros_like", (X, jnp.int32), {}),
    ("ones_like", (X,), {}),
    ("ones_like", (X,), {"dtype": jnp.bfloat16}),
    ("full_like", (X, 0.3), {}),
    ("full_like", (X, 7, jnp.float32), {}),
    ("cast", (X, jnp.bfloat16), {}),
    ("cast", (X, None), {}),
    ("cast_like", (X, Y_MIXED), {}),
    ("cast_like", (Y_MIXED, X), {}),
    ("cast_like", ({"a": X["scale"], "b": X["matrix"]}, {"a": 1.0, "b": Y["embedding"]}), {}),
    ("update_moment", (Y, X, 0.9, 1), {}),
    ("update_moment", (Y, X, 0.999, 2), {}),
    ("update_moment", (Y_MIXED, X, 0.5, 3), {}),
    ("update_moment_per_elem_norm", (Y, X, 0.999, 2), {}),
    ("update_moment_per_elem_norm", (COMPLEX, jax.tree.map(jnp.abs, COMPLEX_Y), 0.9, 2), {}),
    ("update_moment_per_elem_norm", (COMPLEX, jax.tree.map(jnp.abs, COMPLEX_Y), 0.9, 3), {}),
    ("update_infinity_moment", (Y, X, 0.999, 1e-8), {}),
    ("update_infinity_moment", (Y_MIXED, X, 0.9, 0.0), {}),
]


def case_id(case):
    name, args, kwargs = case
    return f"{name}-{len(args)}args-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{case_id(c)}" for i, c in enumerate(CASES)])
def test_matches_optax_eagerly(case):
    name, args, kwargs = case
    got, expected = both(name, *args, **kwargs)
    assert_bit_identical(got, expected, name)


JITTED = ["add", "sub", "mul", "div", "scale", "add_scale", "vdot", "sum", "max", "norm", "where", "clip"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if c[0] in JITTED and not isinstance(c[1][0], bool | float)], ids=case_id
)
def test_matches_optax_under_jit(case):
    name, args, kwargs = case
    if name == "where" and isinstance(args[0], bool):
        pytest.skip("a Python bool condition is static")
    got, expected = both(name, *args, jit=True, **kwargs)
    assert_bit_identical(got, expected, name)


@pytest.mark.parametrize(
    "jit",
    [
        False,
        True,
    ],
)
def test_bias_correction_matches_optax(jit):
    for count in (1, 2, 7, 100, 1000):
        for decay in (0.9, 0.999):
            got, expected = both("bias_correction", X, decay, jnp.asarray(count, jnp.int32), jit=jit)
            assert_bit_identical(got, expected, f"bias_correction(decay={decay}, count={count})")


def test_size_allclose_and_dtype_match_optax():
    assert gdx.tree.size(X) == optax.tree.size(X) and type(gdx.tree.size(X)) is type(optax.tree.size(X))
    for a, b, kwargs in [
        (X, X, {}),
        (X, Y, {}),
        (X, jax.tree.map(lambda v: v * (1 + 1e-6), X), {}),
        (X, jax.tree.map(lambda v: v + 1e-3, X), {"atol": 1e-2}),
        (X, jax.tree.map(lambda v: v * 1.01, X), {"rtol": 0.1, "atol": 0.0}),
        ({"a": jnp.asarray([jnp.nan, 1.0])}, {"a": jnp.asarray([jnp.nan, 1.0])}, {"equal_nan": True}),
        ({"a": jnp.asarray([jnp.nan, 1.0])}, {"a": jnp.asarray([jnp.nan, 1.0])}, {}),
    ]:
        got, expected = both("allclose", a, b, **kwargs)
        assert bool(got) == bool(expected), kwargs
    mixed = {"a": jnp.ones(2, jnp.float16), "b": jnp.ones(2, jnp.float32), "c": jnp.ones((), jnp.bfloat16)}
    ordered = {"a": jnp.ones(2, jnp.float16), "b": jnp.ones(2, jnp.float32)}
    ints = {"a": jnp.ones(2, jnp.int32), "b": jnp.ones(2, jnp.uint32)}
    for tree, handler in [
        (X["dense"], None),
        ({}, None),
        (mixed, "promote"),
        (mixed, "highest"),
        (ordered, "highest"),
        (ordered, "lowest"),
        (ints, "promote"),
        (ints, "highest"),
    ]:
        got, expected = both("dtype", tree, handler)
        assert got == expected, (tree, handler)
    unordered = {"a": jnp.ones(2, jnp.float16), "b": jnp.ones(2, jnp.bfloat16)}  # each promotes to float32
    for bad_tree, handler in [(mixed, None), (unordered, "highest"), (unordered, "lowest"), (X, "widest")]:
        with pytest.raises(ValueError):
            gdx.tree.dtype(bad_tree, handler)
        with pytest.raises(ValueError), optax_promotion():
            optax.tree.dtype(bad_tree, handler)


def test_norm_rejects_the_ords_optax_rejects():
    for ord in (3, 0, "fro", -1):
        with pytest.raises(ValueError, match="ord"):
            gdx.tree.norm(X, ord=ord)
        with pytest.raises(ValueError), optax_promotion():
            optax.tree.norm(X, ord=ord)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"sampler": jax.random.uniform},
        {"dtype": jnp.bfloat16},
        {"sampler": jax.random.normal, "dtype": jnp.float32},
    ],
)
def test_random_trees_match_optax(kwargs):
    key = jax.random.key(42)
    got, expected = both("random_like", key, X, **kwargs)
    assert_bit_identical(got, expected, "random_like")
    got, expected = both("split_key_like", key, X)
    assert_bit_identical(*(jax.tree.map(jax.random.key_data, k) for k in (got, expected)), "split_key_like")
    with_keys = {"key": jax.random.split(key, 3), "x": X["matrix"], "raw": jax.random.PRNGKey(0)}
    got, expected = both("unwrap_random_key_data", with_keys)
    assert_bit_identical(got, expected, "unwrap_random_key_data")


def test_state_access_matches_optax_where_optax_is_right():
    # Both sides read and write the same (optax) state. tree_set differs on purpose only where
    # optax misses nested matches (see gdx.tree_utils.tree_set), which this state does not have.
    params = make_params(0)
    state = optax.chain(optax.add_decayed_weights(1e-4), optax.adam(1e-3)).init(params)
    assert_bit_identical(*both("get", state, "mu"), "get mu")
    assert gdx.tree.get(state, "missing", 3) == optax.tree.get(state, "missing", 3) == 3
    ours, theirs = both("get_all_with_path", state, "count")
    assert [jax.tree_util.keystr(p) for p, _ in ours] == [jax.tree_util.keystr(p) for p, _ in theirs]
    assert_bit_identical([v for _, v in ours], [v for _, v in theirs], "get_all_with_path")
    new_mu = jax.tree.map(jnp.ones_like, params)
    assert_bit_identical(*both("set", state, mu=new_mu), "set mu")
    # map_params on each library's own optimizer: the same leaves at the same paths.
    double = lambda v: 2 * v
    ours = gdx.tree.map_params(gdx.adam(1e-3), double, gdx.adam(1e-3).init(params))
    theirs = optax.tree.map_params(optax.adam(1e-3), double, optax.adam(1e-3).init(params))
    flat = lambda tree: [(jax.tree_util.keystr(p), v) for p, v in jax.tree_util.tree_leaves_with_path(tree)]
    assert [p for p, _ in flat(ours)] == [p for p, _ in flat(theirs)]
    assert_bit_identical([v for _, v in flat(ours)], [v for _, v in flat(theirs)], "map_params")


def test_signatures_match_optax():
    # Same parameter names, kinds and defaults (positional use and keywords port unchanged).
    for name in sorted(n for n in dir(optax.tree) if not n.startswith("_")):
        ours = inspect.signature(getattr(gdx.tree, name)).parameters
        theirs = inspect.signature(getattr(optax.tree, name)).parameters
        describe = lambda params: [(p.name, p.kind, p.default) for p in params.values()]
        assert describe(ours) == describe(theirs), name
