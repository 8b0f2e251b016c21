"""power_iteration, matrix_inverse_pth_root, nnls and multi_normal against optax: bit-identical.

gdx runs under the suite's strict dtype promotion, optax under standard
promotion. Comparisons are exact (equal dtypes and `assert_array_equal`),
eager and jitted, on random inputs of several shapes and dtypes.
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.calls import assert_trees_equal
from tests.parity.harness import optax_promotion


def psd(n, dtype, seed=0):
    a = np.random.default_rng(seed).standard_normal((n, n)).astype(np.float32)
    return jnp.asarray(a @ a.T / n + 0.1 * np.eye(n, dtype=np.float32), dtype)


def both(name, *args, jit=False, **kwargs):
    """gdx.`name` and optax.`name` on the same arguments (jitted or eager)."""
    ours, theirs = getattr(gdx, name), getattr(optax, name)
    if jit:
        ours = jax.jit(
            ours, static_argnames=[k for k in ("iters", "unroll", "p", "precision") if k in kwargs]
        )
        theirs = jax.jit(
            theirs, static_argnames=[k for k in ("iters", "unroll", "p", "precision") if k in kwargs]
        )
    got = ours(*args, **kwargs)
    with optax_promotion():
        expected = theirs(*args, **kwargs)
    return got, expected


# A few (dtype, size) cases rather than the full grid: each case compiles while-loops.
@pytest.mark.parametrize(
    "dtype, n", [(jnp.float32, 2), (jnp.float32, 7), (jnp.bfloat16, 7), (jnp.float16, 7)]
)
@pytest.mark.parametrize("jit", [False, True])
def test_power_iteration_matches_optax(dtype, n, jit):
    matrix = psd(n, dtype)
    assert_trees_equal(*both("power_iteration", matrix, jit=jit))
    options = dict(
        v0=jnp.ones((n,), dtype),
        num_iters=7,
        error_tolerance=1e-3,
        precision=jax.lax.Precision.DEFAULT,
    )
    assert_trees_equal(*both("power_iteration", matrix, jit=jit, **options))
    assert_trees_equal(*both("power_iteration", matrix, jit=jit, key=jax.random.key(3)))


def test_power_iteration_finds_the_dominant_eigenpair():
    matrix = psd(6, jnp.float32)
    eigenvalue, eigenvector = gdx.power_iteration(matrix, error_tolerance=1e-7, num_iters=1000)
    values, vectors = np.linalg.eigh(np.asarray(matrix, np.float64))
    np.testing.assert_allclose(eigenvalue, values[-1], rtol=1e-4)
    np.testing.assert_allclose(np.abs(eigenvector), np.abs(vectors[:, -1]), atol=1e-3)


@pytest.mark.parametrize("jit", [False, True])
def test_power_iteration_on_a_pytree_matvec_matches_optax(jit):
    # A block-diagonal operator on a mixed float32/bfloat16 pytree: the norms and inner
    # products are promoted across leaves exactly as optax's standard promotion does
    # (normalizing by the float32 norm makes the bfloat16 leaf float32, in both).
    def matvec(v):
        return {"a": 2 * v["a"], "b": (0.5 * v["b"][0],)}

    v0 = {"a": jnp.linspace(-1.0, 1.0, 5), "b": (jnp.ones((2, 3), jnp.bfloat16),)}

    def run(module):
        return lambda v0: module.power_iteration(matvec, v0=v0, num_iters=20, error_tolerance=1e-4)

    ours, theirs = run(gdx), run(optax)
    if jit:
        ours, theirs = jax.jit(ours), jax.jit(theirs)
    got = ours(v0)
    with optax_promotion():
        expected = theirs(v0)
    assert_trees_equal(got, expected)
    np.testing.assert_allclose(got[0], 2.0, rtol=1e-3)


@pytest.mark.parametrize(
    "dtype, n", [(jnp.float32, 1), (jnp.float32, 4), (jnp.float32, 9), (jnp.bfloat16, 4), (jnp.float16, 5)]
)
@pytest.mark.parametrize("jit", [False, True])
def test_matrix_inverse_pth_root_matches_optax(dtype, n, jit):
    matrix = psd(n, dtype, seed=n)
    for p in (1, 2, 4, 8) if (dtype, n) == (jnp.float32, 4) else (2, 8):
        assert_trees_equal(*both("matrix_inverse_pth_root", matrix, p=p, jit=jit))
    options = dict(num_iters=5, ridge_epsilon=1e-3, error_tolerance=1e-4, precision=jax.lax.Precision.DEFAULT)
    assert_trees_equal(*both("matrix_inverse_pth_root", matrix, p=4, jit=jit, **options))


def test_matrix_inverse_pth_root_numpy_and_traced_p_match_optax():
    matrix = np.asarray(psd(5, jnp.float32, seed=11))
    assert_trees_equal(*both("matrix_inverse_pth_root", matrix, 2, ridge_epsilon=1e-12))
    # p (and num_iters) may be traced, as in optax.
    got = jax.jit(gdx.matrix_inverse_pth_root)(matrix, jnp.int32(4), jnp.int32(30))
    with optax_promotion():
        expected = jax.jit(optax.matrix_inverse_pth_root)(matrix, jnp.int32(4), jnp.int32(30))
    assert_trees_equal(got, expected)


def test_matrix_inverse_pth_root_is_the_inverse_root():
    matrix = psd(6, jnp.float32, seed=2)
    root, error = gdx.matrix_inverse_pth_root(matrix, 2, ridge_epsilon=1e-12)
    assert error < 1e-3
    np.testing.assert_allclose(root @ root @ matrix, np.eye(6), atol=1e-3)


@pytest.mark.parametrize(
    "dtype, shape, k",
    [(jnp.float32, (10, 11), ()), (jnp.float32, (20, 6), (3,)), (jnp.bfloat16, (10, 11), (3,))],
)
@pytest.mark.parametrize("jit", [False, True])
def test_nnls_matches_optax(dtype, shape, k, jit):
    keys = jax.random.split(jax.random.key(sum(shape) + len(k)), 2)
    a = jax.random.normal(keys[0], shape, dtype)
    b = jax.random.normal(keys[1], (shape[0], *k), dtype)
    for iters in (0, 25):
        got, expected = both("nnls", a, b, iters=iters, jit=jit)
        assert_trees_equal(got, expected)
        assert got.shape == (shape[1], *k) and got.dtype == dtype and bool((got >= 0).all())
    assert_trees_equal(*both("nnls", a, b, iters=10, unroll=3, L=jnp.asarray(50.0, dtype), jit=jit))
    assert_trees_equal(*both("nnls", a, b, iters=10, unroll=True, L=0.0, jit=jit))


def test_nnls_objective_decreases_in_float32():
    keys = jax.random.split(jax.random.key(0), 2)
    a, b = jax.random.normal(keys[0], (20, 11)), jax.random.normal(keys[1], (20,))
    objective = [float(jnp.sum(jnp.square(a @ gdx.nnls(a, b, iters) - b))) for iters in range(6)]
    assert all(later <= earlier for earlier, later in zip(objective, objective[1:]))


@pytest.mark.parametrize(
    "loc_shape, scale_shape, loc_dtype",
    [
        ((), (), jnp.float32),
        ((3,), (3,), jnp.bfloat16),
        ((1, 4), (3, 4), jnp.float32),
        ((1, 2, 1, 3), (2, 1, 4, 3), jnp.bfloat16),
    ],
)
def test_multi_normal_matches_optax(loc_shape, scale_shape, loc_dtype):
    rng = np.random.default_rng(5)
    loc = jnp.asarray(rng.standard_normal(loc_shape), loc_dtype)
    log_scale = jnp.asarray(rng.standard_normal(scale_shape), jnp.float32)
    ours = gdx.multi_normal(loc, log_scale)
    with optax_promotion():
        theirs = optax.multi_normal(loc, log_scale)
        expected_sample = theirs.sample((4, 2), jax.random.key(7))
        x = expected_sample[0, 0]
        expected = [expected_sample, theirs.log_prob(x), theirs.log_prob(expected_sample), *theirs.params]
        expected.append(theirs.log_scale)
    got = [
        ours.sample([4, 2], jax.random.key(7)),
        ours.log_prob(x),
        ours.log_prob(expected_sample),
        *ours.params,
    ]
    got.append(ours.log_scale)
    assert_trees_equal(got, expected)
    assert ours._param_shape == theirs._param_shape  # optax's own test reads this attribute
    assert isinstance(ours, gdx.MultiNormalDiagFromLogScale)


def test_multi_normal_under_jit_matches_optax():
    loc, log_scale = jnp.arange(3.0), jnp.full((3,), -1.0)
    got = jax.jit(lambda k: gdx.multi_normal(loc, log_scale).sample((5,), k))(jax.random.key(1))
    with optax_promotion():
        expected = jax.jit(lambda k: optax.multi_normal(loc, log_scale).sample((5,), k))(jax.random.key(1))
    assert_trees_equal(got, expected)


def test_public_names_and_signatures_match_optax():
    for name in ["power_iteration", "matrix_inverse_pth_root", "nnls", "multi_normal"]:
        ours = inspect.signature(getattr(gdx, name)).parameters
        theirs = inspect.signature(getattr(optax, name)).parameters
        assert list(ours) == list(theirs), name
        for p in theirs:
            assert ours[p].kind == theirs[p].kind, (name, p)
            assert ours[p].default == theirs[p].default, (name, p)


class TestBadInput:
    def test_power_iteration_callable_needs_v0(self):
        with pytest.raises(ValueError, match="v0 must be provided"):
            gdx.power_iteration(lambda v: v)

    def test_matrix_inverse_pth_root_needs_a_square_matrix(self):
        with pytest.raises(ValueError, match="matrix_inverse_pth_root: matrix must be a square 2-D array"):
            gdx.matrix_inverse_pth_root(jnp.ones((2, 3)), 2)
        with pytest.raises(ValueError, match="square"):
            gdx.matrix_inverse_pth_root(jnp.ones(3), 2)

    @pytest.mark.parametrize("p", [0, -2])
    def test_matrix_inverse_pth_root_needs_a_positive_p(self, p):
        with pytest.raises(ValueError, match="matrix_inverse_pth_root: p must be > 0"):
            gdx.matrix_inverse_pth_root(jnp.eye(2), p)

    def test_nnls_shapes_and_iters(self):
        a, b = jnp.ones((4, 3)), jnp.ones(4)
        with pytest.raises(ValueError, match="nnls: A must be a 2-D matrix"):
            gdx.nnls(jnp.ones(4), b, 3)
        with pytest.raises(ValueError, match="nnls: b must be a vector or a matrix"):
            gdx.nnls(a, jnp.ones((4, 1, 1)), 3)
        with pytest.raises(ValueError, match="nnls: b must have A's number of rows 4"):
            gdx.nnls(a, jnp.ones(5), 3)
        with pytest.raises(ValueError, match="nnls: iters must be an integer >= 0"):
            gdx.nnls(a, b, -1)

    def test_multi_normal_shapes_must_broadcast(self):
        with pytest.raises(ValueError, match="Incompatible shapes for broadcasting"):
            gdx.multi_normal(jnp.ones((2, 4)), jnp.ones((3, 4)))
