"""Shampoo: Kronecker-factored preconditioning with blocking and grafting (`scale_by_shampoo`).

optax 0.2.8 has no Shampoo; this follows Gupta, Koren & Singer (2018) with the
practical options of Anil et al. (2020)'s reference implementation
(`scalable_shampoo/optax/distributed_shampoo.py`): blocking, statistics decay,
delayed and infrequent inverse roots, grafting, momentum with Nesterov.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import tree_zeros_like
from gdx._common.moments import decay_power, safe_increment, zero_count
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates
from gdx.transforms.preconditioners import kronecker
from gdx.transforms.preconditioners.kronecker import BlockLayout

GRAFT_TYPES = ("sgd", "adagrad", "rmsprop")


class ShampooState(NamedTuple):
    """State of `scale_by_shampoo`; every field but `count` has the params' tree structure.

    `mu` (momentum) has the params' shapes and dtypes; `diagonal` (the grafting
    optimizer's float32 second moment) too, except with `graft_type="sgd"`.
    The four factor fields hold, for a leaf of rank >= 2 with blocks
    `(row_blocks, col_blocks, block_rows, block_cols)`, float32 arrays of shape
    `(row_blocks, col_blocks, block_rows, block_rows)` (left) and
    `(..., block_cols, block_cols)` (right). Entries a leaf does not have are
    empty float32 arrays of shape `(0,)`.
    """

    count: jax.Array
    mu: Updates
    diagonal: Updates
    stats_left: Updates
    stats_right: Updates
    precond_left: Updates
    precond_right: Updates


def validate_shampoo_args(
    who: str,
    block_size: Any,
    b1: Any,
    b2: Any,
    diagonal_epsilon: Any,
    matrix_epsilon: Any,
    start_preconditioning_step: Any,
    preconditioning_compute_steps: Any,
    graft_type: Any,
    exponent_override: Any,
) -> None:
    if block_size is not None:
        checks.positive_int(who, "block_size", block_size)
    checks.decay_rate(who, "b1", b1)
    checks.decay_rate(who, "b2", b2)
    checks.non_negative(who, "diagonal_epsilon", diagonal_epsilon)
    checks.non_negative(who, "matrix_epsilon", matrix_epsilon)
    checks.non_negative_int(who, "start_preconditioning_step", start_preconditioning_step)
    checks.positive_int(who, "preconditioning_compute_steps", preconditioning_compute_steps)
    checks.one_of(who, "graft_type", graft_type, GRAFT_TYPES)
    checks.non_negative_int(who, "exponent_override", exponent_override)


def _layout(leaf: Any, block_size: int | None) -> BlockLayout | None:
    """Leaves of rank >= 2 are preconditioned (seen as a matrix, leading axes merged)."""
    return kronecker.block_layout(leaf.shape, block_size) if leaf.ndim >= 2 else None


def _safe_ratio(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    positive = denominator > 0
    return jnp.where(positive, numerator / jnp.where(positive, denominator, 1), 0)


def scale_by_shampoo(
    block_size: int | None = 128,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    diagonal_epsilon: jax.typing.ArrayLike = 1e-10,
    matrix_epsilon: jax.typing.ArrayLike = 1e-6,
    start_preconditioning_step: int = 5,
    preconditioning_compute_steps: int = 1,
    graft_type: str = "sgd",
    nesterov: bool = True,
    exponent_override: int = 0,
) -> GradientTransformation:
    r"""Rescales updates by Shampoo's Kronecker-factored preconditioner, grafted onto a diagonal one.

    Each leaf of rank >= 2 is seen as a matrix `G` (leading axes merged), cut
    into blocks of at most `block_size x block_size` (ragged edges zero-padded);
    per block, with `s` the 0-based step count and `p = 4` (`2 * order` for a
    matrix; `exponent_override` if > 0)::

        L <- b2 * L + (1 - b2) * G G^T;     R <- b2 * R + (1 - b2) * G^T G
        if s % preconditioning_compute_steps == 0:
            P_L = L^(-1/p);  P_R = R^(-1/p)     # eigh, eigenvalues clipped at matrix_epsilon * max
        graft = grafting direction of G        # sgd: G; adagrad / rmsprop: G / (sqrt(v) + diagonal_epsilon)
        S = P_L G P_R * ||graft|| / ||P_L G P_R||   # Frobenius norms of the block
        d = S if s >= start_preconditioning_step else graft

    Leaves of rank 0 or 1 use `d = graft`. Then momentum, as the reference code
    (`moving_average_for_momentum=False`)::

        mu <- b1 * mu + d;      u = b1 * mu + d  (nesterov)  or  mu

    Grafting statistics: adagrad `v <- v + g**2`; rmsprop `v <- b2 * v + (1 - b2) * g**2`,
    bias-corrected `v / (1 - b2**t)` (gdx's choice: without it the first steps are
    ~`1/sqrt(1 - b2)` times too large).

    Differences from the reference code, on purpose: one momentum buffer for the
    chosen direction (the reference keeps one for Shampoo and one for the graft);
    leaves of rank >= 3 are reshaped to a matrix instead of one factor per axis;
    rank-1 leaves are not preconditioned; no fallback on inverse-root errors
    (eigh with clipped eigenvalues is always finite).

    Args:
      block_size: largest block side, an integer >= 1, or `None` (never split).
        Default 128 (the reference code has no default). Memory and time per
        step grow with `block_size**2` and `block_size**3` per block.
      b1: momentum, in [0, 1). Default 0.9.
      b2: decay of the statistics `L`, `R` (and of rmsprop grafting), in [0, 1). Default 0.999.
      diagonal_epsilon: added to the grafting denominator, >= 0. Default 1e-10.
      matrix_epsilon: eigenvalue floor relative to the largest eigenvalue, >= 0. Default 1e-6.
      start_preconditioning_step: steps that use the graft only, integer >= 0. Default 5.
      preconditioning_compute_steps: recompute the inverse roots every this many
        steps, integer >= 1. Default 1.
      graft_type: `"sgd"` (default, as the reference code), `"adagrad"` or `"rmsprop"`.
      nesterov: Nesterov momentum. Default True.
      exponent_override: `p` of the inverse root if > 0, else `2 * order` = 4. Default 0.

    Returns:
      A `GradientTransformation` with state `ShampooState`.

    References: Gupta, Koren & Singer, "Shampoo: Preconditioned Stochastic Tensor
    Optimization", ICML 2018; Anil, Gupta, Koren, Regan & Singer, "Scalable Second
    Order Optimization for Deep Learning", 2020.
    """
    who = "scale_by_shampoo"
    validate_shampoo_args(
        who,
        block_size,
        b1,
        b2,
        diagonal_epsilon,
        matrix_epsilon,
        start_preconditioning_step,
        preconditioning_compute_steps,
        graft_type,
        exponent_override,
    )
    exponent = int(exponent_override) if exponent_override else 4
    compute_steps = int(preconditioning_compute_steps)
    start_step = int(start_preconditioning_step)

    def init(params):
        leaves, treedef = jax.tree.flatten(params)
        diagonal, stats_left, stats_right, precond_left, precond_right = [], [], [], [], []
        for leaf in leaves:
            if jnp.iscomplexobj(leaf):
                raise ValueError(f"{who} does not support complex params")
            diagonal.append(
                kronecker.placeholder() if graft_type == "sgd" else jnp.zeros(leaf.shape, jnp.float32)
            )
            layout = _layout(leaf, block_size)
            if layout is None:
                for field in (stats_left, stats_right, precond_left, precond_right):
                    field.append(kronecker.placeholder())
                continue
            blocks = (layout.row_blocks, layout.col_blocks)
            stats_left.append(jnp.zeros((*blocks, layout.block_rows, layout.block_rows), jnp.float32))
            stats_right.append(jnp.zeros((*blocks, layout.block_cols, layout.block_cols), jnp.float32))
            precond_left.append(kronecker.batched_eye(blocks, layout.block_rows))
            precond_right.append(kronecker.batched_eye(blocks, layout.block_cols))
        unflatten = treedef.unflatten
        return ShampooState(
            count=zero_count(),
            mu=tree_zeros_like(params),
            diagonal=unflatten(diagonal),
            stats_left=unflatten(stats_left),
            stats_right=unflatten(stats_right),
            precond_left=unflatten(precond_left),
            precond_right=unflatten(precond_right),
        )

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        grads, treedef = jax.tree.flatten(updates)
        fields = [treedef.flatten_up_to(tree) for tree in state[1:]]
        mu, diagonal, stats_left, stats_right, precond_left, precond_right = fields
        momentum = jnp.asarray(b1, jnp.float32)
        decay = jnp.asarray(b2, jnp.float32)
        count_inc = safe_increment(state.count)
        layouts = [_layout(g, block_size) for g in grads]
        grads32 = [g.astype(jnp.float32) for g in grads]

        # Grafting direction (and its statistics), element-wise.
        graft, new_diagonal = [], []
        for g, v in zip(grads32, diagonal):
            if graft_type == "sgd":
                graft.append(g)
                new_diagonal.append(v)
                continue
            if graft_type == "adagrad":
                v = v + g * g
                second_moment = v
            else:
                v = decay * v + (1 - decay) * g * g
                second_moment = v / (1 - decay_power(decay, count_inc))
            graft.append(g / (jnp.sqrt(second_moment) + jnp.asarray(diagonal_epsilon, jnp.float32)))
            new_diagonal.append(v)

        # Kronecker statistics of every preconditioned block.
        blocked = [None if lay is None else kronecker.to_blocks(g, lay) for g, lay in zip(grads32, layouts)]
        new_left, new_right = [], []
        for gb, left, right in zip(blocked, stats_left, stats_right):
            if gb is None:
                new_left.append(left)
                new_right.append(right)
                continue
            new_left.append(decay * left + (1 - decay) * kronecker.left_statistic(gb))
            new_right.append(decay * right + (1 - decay) * kronecker.right_statistic(gb))

        # Inverse roots: one `cond` for the whole tree, so a step that keeps them runs no eigh.
        def recompute(operands):
            lefts, rights, _, _ = operands
            roots = kronecker.inverse_pth_roots([*lefts, *rights], exponent, matrix_epsilon)
            return roots[: len(lefts)], roots[len(lefts) :]

        def keep(operands):
            return operands[2], operands[3]

        new_precond_left, new_precond_right = jax.lax.cond(
            state.count % compute_steps == 0,
            recompute,
            keep,
            (new_left, new_right, list(precond_left), list(precond_right)),
        )

        use_shampoo = state.count >= start_step
        out, new_mu = [], []
        for i, g in enumerate(grads):
            direction = graft[i]
            layout, gb = layouts[i], blocked[i]
            if layout is not None and gb is not None:
                preconditioned = kronecker.matmul(
                    kronecker.matmul(new_precond_left[i], gb), new_precond_right[i]
                )
                graft_norm = jnp.linalg.norm(kronecker.to_blocks(direction, layout), axis=(-2, -1))
                shampoo_norm = jnp.linalg.norm(preconditioned, axis=(-2, -1))
                grafted = preconditioned * _safe_ratio(graft_norm, shampoo_norm)[..., None, None]
                direction = jnp.where(use_shampoo, kronecker.from_blocks(grafted, layout), direction)
            m = momentum * mu[i].astype(jnp.float32) + direction
            new_mu.append(m.astype(mu[i].dtype))
            out.append((momentum * m + direction if nesterov else m).astype(g.dtype))

        unflatten = treedef.unflatten
        return unflatten(out), ShampooState(
            count=count_inc,
            mu=unflatten(new_mu),
            diagonal=unflatten(new_diagonal),
            stats_left=unflatten(new_left),
            stats_right=unflatten(new_right),
            precond_left=unflatten(new_precond_left),
            precond_right=unflatten(new_precond_right),
        )

    return GradientTransformationExtraArgs(init, update)
