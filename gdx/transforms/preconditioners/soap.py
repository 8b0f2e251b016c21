"""SOAP: Adam in the eigenbasis of Shampoo's preconditioner (`scale_by_soap`).

optax 0.2.8 has no SOAP; this follows Vyas et al. (2024) and their reference
implementation (github.com/nikhilvyas/SOAP, `soap.py`), whose defaults it keeps.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import tree_zeros_like
from gdx._common.moments import safe_increment, zero_count
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates
from gdx.transforms.preconditioners import kronecker
from gdx.transforms.preconditioners.kronecker import matmul


class SoapState(NamedTuple):
    """State of `scale_by_soap`; every field but `count` has the params' tree structure.

    `count` counts calls (the first call only builds the bases); `mu` and `nu`
    (Adam's moments, in the eigenbasis) have the params' shapes and dtypes.
    For a matrix leaf `(m, n)`: `stats_left` / `basis_left` are float32 `(m, m)`,
    `stats_right` / `basis_right` float32 `(n, n)`. A factor a leaf does not
    have (rank != 2, or a side longer than `max_precond_dim`) is an empty
    float32 array of shape `(0,)`, meaning the identity.
    """

    count: jax.Array
    mu: Updates
    nu: Updates
    stats_left: Updates
    stats_right: Updates
    basis_left: Updates
    basis_right: Updates


def validate_soap_args(
    who: str, b1: Any, b2: Any, shampoo_beta: Any, eps: Any, precondition_frequency: Any, max_precond_dim: Any
) -> None:
    checks.decay_rate(who, "b1", b1)
    checks.decay_rate(who, "b2", b2)
    checks.finite(who, "shampoo_beta", shampoo_beta)
    beta = checks.concrete_number(shampoo_beta)
    if beta is not None and beta >= 1:
        raise ValueError(
            checks.message(who, "shampoo_beta", f"must be < 1 (negative means b2), got {shampoo_beta!r}")
        )
    checks.non_negative(who, "eps", eps)
    checks.positive_int(who, "precondition_frequency", precondition_frequency)
    checks.positive_int(who, "max_precond_dim", max_precond_dim)


def _project(x: jax.Array, left: jax.Array, right: jax.Array) -> jax.Array:
    """`Q_L^T X Q_R` (a missing factor is the identity)."""
    if left.size:
        x = matmul(left.T, x)
    if right.size:
        x = matmul(x, right)
    return x


def _project_back(x: jax.Array, left: jax.Array, right: jax.Array) -> jax.Array:
    """`Q_L X Q_R^T`, the inverse of `_project`."""
    if left.size:
        x = matmul(left, x)
    if right.size:
        x = matmul(x, right.T)
    return x


def _power_iteration_step(stats: jax.Array, basis: jax.Array, nu: jax.Array, axis: int):
    """One QR power-iteration step of the eigenbasis; `nu` follows the re-sorted columns.

    order = argsort(-diag(Q^T M Q));   Q <- Q[:, order];   nu <- nu sorted along `axis`
    Q <- qr(M Q).Q
    """
    estimated_eigenvalues = jnp.diag(matmul(matmul(basis.T, stats), basis))
    order = jnp.argsort(-estimated_eigenvalues, stable=True)
    basis = basis[:, order]
    nu = jnp.take(nu, order, axis=axis)
    basis, _ = jnp.linalg.qr(matmul(stats, basis))
    return basis, nu


def _eigenbasis(stats: jax.Array) -> jax.Array:
    # The reference adds 1e-30 * I before eigh (a no-op in float32) and flips to descending order.
    return kronecker.eigh_descending(stats)[1]


def scale_by_soap(
    b1: jax.typing.ArrayLike = 0.95,
    b2: jax.typing.ArrayLike = 0.95,
    shampoo_beta: jax.typing.ArrayLike = -1.0,
    eps: jax.typing.ArrayLike = 1e-8,
    precondition_frequency: int = 10,
    max_precond_dim: int = 10000,
) -> GradientTransformation:
    r"""Rescales updates by Adam run in the eigenbasis of Shampoo's preconditioner (SOAP).

    For a matrix leaf `G` with bases `Q_L`, `Q_R` (a side of length >
    `max_precond_dim`, or a leaf of rank != 2, uses the identity, i.e. Adam
    along it); `t` counts Adam steps (calls after the first)::

        first call:  L = (1 - sb) G G^T;  R = (1 - sb) G^T G;  Q_L, Q_R = eigenvectors (eigh,
                     descending eigenvalues);  u = 0     # the current G never enters its own basis
        later calls:
          G' = Q_L^T G Q_R
          mu <- b1 * mu + (1 - b1) * G';   nu <- b2 * nu + (1 - b2) * G'**2
          u = Q_L (mu / (sqrt(nu) + eps)) Q_R^T * sqrt(1 - b2**t) / (1 - b1**t)
          L <- sb * L + (1 - sb) * G G^T;   R <- sb * R + (1 - sb) * G^T G
          if t % precondition_frequency == 0:      # one QR power-iteration step per factor
            Q <- Q[:, argsort(-diag(Q^T L Q))]  (nu's axis permuted alike);  Q <- qr(L Q).Q
            mu is rotated from the old basis into the new one

    with `sb = shampoo_beta` if `shampoo_beta >= 0`, else `b2`.

    As the reference code: the first call returns a zero update; `eps` is added
    outside the square root and is not bias-corrected; `mu` is kept in the
    eigenbasis. gdx differs on purpose in one point: leaves of rank > 2 use
    plain Adam (the reference gives each axis a factor).

    Args:
      b1: decay of the first moment, in [0, 1). Default 0.95 (reference code).
      b2: decay of the second moment, in [0, 1). Default 0.95 (reference code).
      shampoo_beta: decay of `L` and `R`, < 1; negative means `b2`. Default -1.0.
      eps: added to Adam's denominator, >= 0. Default 1e-8.
      precondition_frequency: refresh the eigenbases every this many steps,
        integer >= 1. Default 10.
      max_precond_dim: sides longer than this get no factor, integer >= 1.
        Default 10000. Memory per factor is `side**2` floats (twice: statistics and basis).

    Returns:
      A `GradientTransformation` with state `SoapState`.

    Reference: Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson &
    Kakade, "SOAP: Improving and Stabilizing Shampoo using Adam", ICLR 2025
    (arXiv 2409.11321).
    """
    who = "scale_by_soap"
    validate_soap_args(who, b1, b2, shampoo_beta, eps, precondition_frequency, max_precond_dim)
    frequency = int(precondition_frequency)

    def has_factor(leaf: Any, axis: int) -> bool:
        return leaf.ndim == 2 and leaf.shape[axis] <= max_precond_dim

    def factor_zeros(leaf: Any, axis: int) -> jax.Array:
        side = leaf.shape[axis] if has_factor(leaf, axis) else 0
        return jnp.zeros((side, side), jnp.float32) if side else kronecker.placeholder()

    def init(params):
        leaves, treedef = jax.tree.flatten(params)
        for leaf in leaves:
            if jnp.iscomplexobj(leaf):
                raise ValueError(f"{who} does not support complex params")
        # Separate zero arrays for statistics and bases: a donated state must not alias buffers.
        left, basis_left = (treedef.unflatten([factor_zeros(leaf, 0) for leaf in leaves]) for _ in range(2))
        right, basis_right = (treedef.unflatten([factor_zeros(leaf, 1) for leaf in leaves]) for _ in range(2))
        return SoapState(
            count=zero_count(),
            mu=tree_zeros_like(params),
            nu=tree_zeros_like(params),
            stats_left=left,
            stats_right=right,
            basis_left=basis_left,
            basis_right=basis_right,
        )

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        grads, treedef = jax.tree.flatten(updates)
        mu, nu, stats_left, stats_right, basis_left, basis_right = (
            treedef.flatten_up_to(tree) for tree in state[1:]
        )
        beta1, beta2 = jnp.asarray(b1, jnp.float32), jnp.asarray(b2, jnp.float32)
        beta_stats = jnp.asarray(shampoo_beta, jnp.float32)
        beta_stats = jnp.where(beta_stats >= 0, beta_stats, beta2)
        first = state.count == 0
        adam_step = jnp.maximum(state.count, 1).astype(jnp.float32)
        step_size = jnp.sqrt(1 - beta2**adam_step) / (1 - beta1**adam_step)

        out, new_mu, new_nu, new_left, new_right = [], [], [], [], []
        for i, g in enumerate(grads):
            g32 = g.astype(jnp.float32)
            projected = _project(g32, basis_left[i], basis_right[i])
            m = beta1 * mu[i].astype(jnp.float32) + (1 - beta1) * projected
            v = beta2 * nu[i].astype(jnp.float32) + (1 - beta2) * projected * projected
            direction = _project_back(
                m / (jnp.sqrt(v) + jnp.asarray(eps, jnp.float32)), *(basis_left[i], basis_right[i])
            )
            out.append(jnp.where(first, 0, direction * step_size).astype(g.dtype))
            new_mu.append(jnp.where(first, mu[i].astype(jnp.float32), m))
            new_nu.append(jnp.where(first, nu[i].astype(jnp.float32), v))
            left, right = stats_left[i], stats_right[i]
            if left.size:
                left = beta_stats * left + (1 - beta_stats) * kronecker.left_statistic(g32)
            if right.size:
                right = beta_stats * right + (1 - beta_stats) * kronecker.right_statistic(g32)
            new_left.append(left)
            new_right.append(right)

        def initial_bases(operands):
            m, v, lefts, rights, _, _ = operands
            bases = lambda stats: [s if s.size == 0 else _eigenbasis(s) for s in stats]  # noqa: E731
            return m, v, bases(lefts), bases(rights)

        def refreshed_bases(operands):
            ms, vs, lefts, rights, old_lefts, old_rights = operands
            ms, vs, bases_left, bases_right = list(ms), list(vs), [], []
            for i in range(len(ms)):
                q_left, q_right = old_lefts[i], old_rights[i]
                m_original = _project_back(ms[i], q_left, q_right)
                if q_left.size:
                    q_left, vs[i] = _power_iteration_step(lefts[i], q_left, vs[i], axis=0)
                if q_right.size:
                    q_right, vs[i] = _power_iteration_step(rights[i], q_right, vs[i], axis=1)
                ms[i] = _project(m_original, q_left, q_right)
                bases_left.append(q_left)
                bases_right.append(q_right)
            return ms, vs, bases_left, bases_right

        def same_bases(operands):
            m, v, _, _, lefts, rights = operands
            return m, v, lefts, rights

        refresh = (state.count > 0) & (state.count % frequency == 0)
        branch = jnp.where(first, 0, jnp.where(refresh, 1, 2))
        new_mu, new_nu, new_basis_left, new_basis_right = jax.lax.switch(
            branch,
            (initial_bases, refreshed_bases, same_bases),
            (new_mu, new_nu, new_left, new_right, list(basis_left), list(basis_right)),
        )

        unflatten = treedef.unflatten
        return unflatten(out), SoapState(
            count=safe_increment(state.count),
            mu=unflatten([m.astype(old.dtype) for m, old in zip(new_mu, mu)]),
            nu=unflatten([v.astype(old.dtype) for v, old in zip(new_nu, nu)]),
            stats_left=unflatten(new_left),
            stats_right=unflatten(new_right),
            basis_left=unflatten(new_basis_left),
            basis_right=unflatten(new_basis_right),
        )

    return GradientTransformationExtraArgs(init, update)
