"""Linear algebra used in optimization: `power_iteration`, `matrix_inverse_pth_root`, `nnls`.

Each does optax 0.2.8's arithmetic operation for operation (same loops, same
products, same promotions), written to run under strict dtype promotion, so
the results are bit-identical to optax's.
"""

import functools
import operator
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from gdx._common import checks
from gdx._common.dtypes import explicit_sharding, promote, promoted
from gdx._common.tree_math import global_norm, tree_scale, tree_sub


def _vdot(a: Any, b: Any) -> jax.Array:
    # As optax.tree.vdot: a full tensordot at HIGHEST precision (no ravel, which would
    # communicate across devices), replicated under an explicit-axes mesh.
    a, b = jnp.asarray(a), jnp.asarray(b)
    if jnp.issubdtype(a.dtype, jnp.complexfloating):
        a = jnp.conj(a)
    kwargs: dict[str, Any] = {}
    sharding = explicit_sharding(a)
    if sharding is not None:
        kwargs["out_sharding"] = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
    a, b = promote(a, b)
    return jnp.tensordot(a, b, a.ndim, precision=lax.Precision.HIGHEST, **kwargs)


def _tree_vdot(tree_x: Any, tree_y: Any) -> Any:
    total: Any = 0
    for leaf_dot in jax.tree.leaves(jax.tree.map(_vdot, tree_x, tree_y)):
        total = promoted(operator.add, total, leaf_dot)
    return total


def _normalize(tree: Any) -> Any:
    return tree_scale(1.0 / global_norm(tree), tree)


def power_iteration(
    matrix: jax.typing.ArrayLike | Callable[[Any], Any],
    *,
    v0: Any | None = None,
    num_iters: jax.typing.ArrayLike = 100,
    error_tolerance: jax.typing.ArrayLike = 1e-6,
    precision: lax.Precision = lax.Precision.HIGHEST,
    key: jax.Array | None = None,
) -> tuple[jax.typing.ArrayLike, Any]:
    """The dominant eigenvalue (spectral radius) of a diagonalizable matrix and its eigenvector.

    Rule::

        v = v0 / ||v0||;  z = A v;  eig = 0
        while |(||z - eig * v||) / eig| >= error_tolerance and k < num_iters:
            v = z / ||z||;  z = A v;  eig = <v, z>
        return eig, z / ||z||

    Args:
      matrix: a square `(n, n)` array, or a callable computing the
        matrix-vector product `v -> A v` on pytrees (e.g. a Hessian-vector product).
      v0: the initial vector: shape `(n,)` for an array `matrix`, a pytree of
        the callable's input structure for a callable (then required). Default
        `None`: uniform in [-1, 1] drawn with `key`.
      num_iters: the maximum number of iterations. Default 100.
      error_tolerance: stop when the relative residual of the eigenvalue
        estimate is below this. Default 1e-6.
      precision: XLA precision of the matrix products (array `matrix`).
        Default `lax.Precision.HIGHEST`.
      key: PRNG key for the random `v0`. Default `None` means `PRNGKey(0)`.

    Returns:
      `(eigenvalue, eigenvector)`, the eigenvector normalized (a pytree like
      `v0` for a callable `matrix`).

    Raises:
      ValueError: if `matrix` is a callable and `v0` is not given.

    References:
      Power iteration, https://en.wikipedia.org/wiki/Power_iteration (as optax 0.2.8).
    """
    if callable(matrix):
        matvec = matrix
        if v0 is None:
            # optax's message: the input pytree structure of a callable is unknown.
            raise ValueError("v0 must be provided when `matrix` is a callable.")
    else:
        array = matrix
        matvec = functools.partial(jnp.matmul, array, precision=precision)
        if v0 is None:
            v0 = jax.random.uniform(
                jax.random.PRNGKey(0) if key is None else key,
                shape=jnp.shape(array)[-1:],
                dtype=array.dtype,  # pyright: ignore[reportAttributeAccessIssue]
                minval=-1.0,
                maxval=1.0,
            )
    start: Any = _normalize(v0)

    def not_converged(loop: tuple[Any, Any, Any, Any]) -> jax.Array:
        eigvec, unnormalized, eig, k = loop
        residual_norm = global_norm(tree_sub(unnormalized, tree_scale(eig, eigvec)))
        converged = promoted(
            operator.lt, jnp.abs(promoted(operator.truediv, residual_norm, eig)), error_tolerance
        )
        return ~converged & promoted(operator.lt, k, num_iters)

    def step(loop: tuple[Any, Any, Any, Any]) -> tuple[Any, Any, Any, Any]:
        _, z, _, k = loop
        eigvec = _normalize(z)
        z = matvec(eigvec)
        return eigvec, z, _tree_vdot(eigvec, z), k + 1

    init = (start, matvec(start), jnp.asarray(0.0), jnp.asarray(0))
    _, unnormalized, eigenvalue, _ = lax.while_loop(not_converged, step, init)
    return eigenvalue, _normalize(unnormalized)


def _check_square(who: str, matrix: Any) -> None:
    shape = jnp.shape(matrix)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"{who}: matrix must be a square 2-D array, got shape {shape}")


def _matrix_power(mat: jax.Array, p: Any, precision: lax.Precision) -> jax.Array:
    """`mat**p` for p in 1, 2, 4, 8 (chosen as round(log2(p)), clamped), by repeated squaring."""

    def square(m: jax.Array) -> jax.Array:
        return jnp.matmul(m, m, precision=precision)

    branches = [
        lambda m: m,
        square,
        lambda m: square(square(m)),
        lambda m: square(square(square(m))),
    ]
    exponent = jnp.round(jnp.log2(p))
    return lax.switch(jnp.asarray(exponent, jnp.int32), branches, mat)


def matrix_inverse_pth_root(
    matrix: jax.typing.ArrayLike,
    p: jax.typing.ArrayLike,
    num_iters: jax.typing.ArrayLike = 100,
    ridge_epsilon: jax.typing.ArrayLike = 1e-6,
    error_tolerance: jax.typing.ArrayLike = 1e-6,
    precision: lax.Precision = lax.Precision.HIGHEST,
) -> tuple[jax.Array, Any]:
    """`matrix ** (-1/p)` of a symmetric PSD matrix, by coupled Newton iterations (in float32).

    Rule (`alpha = -1/p`, `I` the identity, `lambda_max` from `power_iteration`)::

        A = matrix + ridge_epsilon * max(lambda_max, 1e-16) * I
        z = (1 + p) / (2 ||A||_F);  M = z A;  H = z**(1/p) I
        repeat while max|M - I| > error_tolerance, k < num_iters, and the error
        grew by less than 1.2x in the last step:
            M_i = (1 - alpha) I + alpha M
            M = M_i**p @ M;  H = H @ M_i
        return H (the previous H if the last step diverged), max|M - I|

    A 1x1 matrix gives `(matrix + ridge)**alpha` and an error of `0`.

    Args:
      matrix: a symmetric positive semi-definite `(n, n)` array.
      p: the root, a positive integer; p in 1, 2, 4, 8 is exact (the power
        `M_i**p` is taken as `M_i**(2**round(log2 p))`, as optax).
      num_iters: the maximum number of Newton iterations. Default 100.
      ridge_epsilon: relative ridge added to make the matrix positive
        definite, scaled by the largest eigenvalue. Default 1e-6.
      error_tolerance: stop when `max|M - I|` is below this. Default 1e-6.
      precision: XLA precision of the matrix products. Default `HIGHEST`.

    Returns:
      `(matrix ** (-1/p), error)`, the root in `matrix`'s dtype (float32 for
      a 1x1 matrix, as optax) and `max|M - I|` at the end.

    References:
      Higham, Functions of Matrices: Theory and Computation, SIAM 2008,
      p. 184, eq. 7.18 (as optax 0.2.8).
    """
    who = "matrix_inverse_pth_root"
    _check_square(who, matrix)
    checks.positive(who, "p", p)
    size = jnp.shape(matrix)[0]
    alpha = jnp.asarray(promoted(operator.truediv, -1.0, p), jnp.float32)
    identity = jnp.eye(size, dtype=jnp.float32)
    max_eigenvalue, _ = power_iteration(
        matrix=matrix, num_iters=100, error_tolerance=1e-6, precision=precision
    )
    ridge = promoted(operator.mul, ridge_epsilon, jnp.maximum(max_eigenvalue, 1e-16))

    if size == 1:
        return promoted(operator.pow, promoted(operator.add, matrix, ridge), alpha), 0

    def keep_going(state: tuple[Any, ...]) -> jax.Array:
        k, _, _, _, error, improving = state
        above = jnp.logical_and(promoted(operator.gt, error, error_tolerance), improving)
        return jnp.logical_and(promoted(operator.lt, k, num_iters), above)

    def newton_step(state: tuple[Any, ...]) -> tuple[Any, ...]:
        k, mat_m, mat_h, _, error, _ = state
        mat_m_i = promoted(
            operator.add, promoted(operator.mul, 1 - alpha, identity), promoted(operator.mul, alpha, mat_m)
        )
        new_mat_m = jnp.matmul(_matrix_power(mat_m_i, p, precision), mat_m, precision=precision)
        new_mat_h = jnp.matmul(mat_h, mat_m_i, precision=precision)
        new_error = jnp.max(jnp.abs(promoted(operator.sub, new_mat_m, identity)))
        # The error may rise for a step before it falls; more than 1.2x counts as diverging.
        return k + 1, new_mat_m, new_mat_h, mat_h, new_error, promoted(operator.lt, new_error, error * 1.2)

    damped = promoted(operator.add, matrix, promoted(operator.mul, ridge, identity))
    z = promoted(operator.truediv, 1 + p, 2 * jnp.linalg.norm(damped))  # pyright: ignore[reportOperatorIssue]
    mat_m_0 = promoted(operator.mul, damped, z)
    error_0 = jnp.max(jnp.abs(promoted(operator.sub, mat_m_0, identity)))
    mat_h_0 = promoted(operator.mul, identity, promoted(jnp.power, z, promoted(operator.truediv, 1.0, p)))
    init = (0, mat_m_0, mat_h_0, mat_h_0, error_0, True)
    _, mat_m, mat_h, old_mat_h, _, improving = lax.while_loop(keep_going, newton_step, init)
    error = jnp.max(jnp.abs(promoted(operator.sub, mat_m, identity)))
    converged = jnp.asarray(improving, old_mat_h.dtype)
    root = promoted(
        operator.add,
        promoted(operator.mul, converged, mat_h),
        promoted(operator.mul, 1 - converged, old_mat_h),
    )
    return jnp.asarray(root, matrix.dtype), error  # pyright: ignore[reportAttributeAccessIssue]


def _spectral_radius_upper_bound(matrix: jax.Array) -> Any:
    """min(||M||_F, ||M||_1), an upper bound on the spectral radius of `M`."""
    frobenius = jnp.linalg.matrix_norm(matrix, ord="fro")
    one_norm = jnp.linalg.matrix_norm(matrix, ord=1) if matrix.size != 0 else 0
    return jnp.minimum(frobenius, one_norm)


def nnls(
    A: jax.Array,  # noqa: N803 (optax's argument name)
    b: jax.Array,
    iters: int,
    unroll: int | bool = 1,
    L: jax.typing.ArrayLike | None = None,  # noqa: N803 (optax's argument name)
) -> jax.Array:
    """Non-negative least squares: minimizes `||A x - b||_2` subject to `x >= 0`.

    Fast projected gradient (accelerated, FISTA-like), `Q = A^T A`, `q = A^T b`,
    starting from `x = p = 0`, `c = 0`::

        c' = (1 + sqrt(1 + 4 c**2)) / 2;  s = (c - 1) / c'
        x' = max(p - (Q p - q) / L, 0);   p' = x' + s (x' - x)

    Args:
      A: the `(M, N)` matrix.
      b: the `(M,)` vector, or an `(M, K)` matrix (K problems at once).
      iters: the number of iterations, an integer >= 0.
      unroll: passed to `lax.scan`. Default 1.
      L: an upper bound on the spectral radius of `A^T A`. Default `None`:
        `min(||Q||_F, ||Q||_1)`. A zero bound is replaced by 1.

    Returns:
      The solution, shape `(N,)` (or `(N, K)`), in `b`'s dtype.

    References:
      Polyak, Projected gradient method for non-negative least square,
      Contemporary Mathematics 636, 2015 (as optax 0.2.8).
    """
    who = "nnls"
    if jnp.ndim(A) != 2:
        raise ValueError(f"{who}: A must be a 2-D matrix, got shape {jnp.shape(A)}")
    if jnp.ndim(b) not in (1, 2):
        raise ValueError(f"{who}: b must be a vector or a matrix, got shape {jnp.shape(b)}")
    if jnp.shape(b)[0] != jnp.shape(A)[0]:
        raise ValueError(f"{who}: b must have A's number of rows {jnp.shape(A)[0]}, got shape {jnp.shape(b)}")
    checks.non_negative_int(who, "iters", iters)

    Q = promoted(jnp.matmul, A.mT, A)  # noqa: N806 (the paper's names)
    q = promoted(jnp.matmul, A.mT, b)
    bound: Any = _spectral_radius_upper_bound(Q) if L is None else L
    bound = jnp.where(bound == 0, 1, bound)  # no division by zero below

    def fpg_step(carry: tuple[Any, Any, Any], _: Any) -> tuple[tuple[Any, Any, Any], None]:
        x, p, c = carry
        c_next = (1 + jnp.sqrt(1 + 4 * c**2)) / 2
        s = (c - 1) / c_next
        gradient = promoted(operator.sub, promoted(jnp.matmul, Q, p), q)
        x_next = promoted(operator.sub, p, promoted(operator.truediv, gradient, bound)).clip(0)
        p_next = promoted(operator.add, x_next, promoted(operator.mul, s, promoted(operator.sub, x_next, x)))
        return (x_next, p_next, c_next), None

    x = jnp.zeros_like(b, shape=jnp.shape(A)[-1:] + jnp.shape(b)[1:])
    (x, _, _), _ = lax.scan(fpg_step, (x, x, 0.0), length=iters, unroll=unroll)
    return x
