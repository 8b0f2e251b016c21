"""GaLore: a base optimizer run on low-rank projections of matrix gradients (`scale_by_galore`).

Mirrors `optax.contrib` 0.2.8: the same projector (left singular vectors of
the float32 gradient when it has at least as many rows as columns, else right
ones), the same refresh schedule, and the same state layout, with promotions
written out for strict dtype promotion.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import promoted
from gdx._common.moments import safe_increment, zero_count
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)
from gdx.transforms.adam import scale_by_adam


class GaLoreDimensionNumbers(NamedTuple):
    """Which axes of a weight form the rows (`reduction_axis`) and columns (`output_axis`) of its matrix.

    E.g. attention weights stored as `(embed, heads, head_dim)` are projected
    as an `embed x (heads * head_dim)` matrix with
    `GaLoreDimensionNumbers(reduction_axis=0, output_axis=(1, 2))`.
    """

    reduction_axis: Sequence[int] | int = 0
    output_axis: Sequence[int] | int = 1


class GaLoreState(NamedTuple):
    """State of `scale_by_galore`: int32 step count, the base optimizer's state (on the
    projected grads; full grads for unprojected leaves), and one projector per leaf
    (a `(0, 0)` array for leaves that are not projected)."""

    count: jax.Array
    base_optimizer_state: Any
    projector: Any


def _is_dim_nums(x: Any) -> bool:
    return isinstance(x, GaLoreDimensionNumbers)


def _is_dim_nums_leaf(x: Any) -> bool:
    return x is None or isinstance(x, GaLoreDimensionNumbers)


def _axes(axis: Sequence[int] | int, ndim: int) -> tuple[int, ...]:
    return (axis % ndim,) if isinstance(axis, int) else tuple(a % ndim for a in axis)


def _matrix_view(x: Any, dim_nums: GaLoreDimensionNumbers) -> tuple[Callable, Callable, tuple[int, int]]:
    """`(to_matrix, from_matrix, (rows, columns))` for treating `x` as a 2-D matrix."""
    if x.ndim < 2:
        raise ValueError(f"galore: projected leaves need rank >= 2, got shape {x.shape}")
    rows_axes, columns_axes = _axes(dim_nums.reduction_axis, x.ndim), _axes(dim_nums.output_axis, x.ndim)
    if set(rows_axes) & set(columns_axes):
        raise ValueError(
            f"galore: reduction axes {rows_axes} and output axes {columns_axes} must be disjoint "
            f"(dimension numbers {dim_nums} for shape {x.shape})"
        )
    if len(set(rows_axes) | set(columns_axes)) != x.ndim:
        raise ValueError(
            f"galore: every axis must be a reduction or an output axis; got reduction={rows_axes}, "
            f"output={columns_axes} for shape {x.shape}"
        )
    order = rows_axes + columns_axes
    inverse = tuple(sorted(range(x.ndim), key=lambda i: order[i]))
    rows = math.prod(x.shape[a] for a in rows_axes)
    columns = math.prod(x.shape[a] for a in columns_axes)
    transposed_shape = tuple(x.shape[a] for a in order)
    return (
        lambda y: y.transpose(order).reshape(rows, columns),
        lambda y: y.reshape(transposed_shape).transpose(inverse),
        (rows, columns),
    )


def _validate_galore(who: str, rank: Any, update_proj_gap: Any, scale: Any) -> None:
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise TypeError(checks.message(who, "rank", f"must be an int, got {rank!r} ({type(rank).__name__})"))
    checks.positive_int(who, "rank", rank)
    checks.positive_int(who, "update_proj_gap", update_proj_gap)
    checks.finite(who, "scale", scale)


@docs.shared_args
def scale_by_galore(
    rank: int = 128,
    update_proj_gap: int = 200,
    scale: float = 1.0,
    base_optimizer: GradientTransformation | None = None,
    weight_dimension_numbers: Any | None = None,
) -> GradientTransformation:
    r"""Runs `base_optimizer` on low-rank projections of matrix gradients (GaLore).

    Update rule, for a leaf seen as an `m x n` matrix `G` (`r = min(rank, m, n)`,
    `t` counts from 0)::

        every update_proj_gap steps (t % update_proj_gap == 0):
            U, S, V^T = svd(float32(G))
            P = U[:, :r]       if m >= n   else   V[:r, :]^T
        R = P^T G              if m >= n   else   G P          # r x n or m x r
        N = base_optimizer(R)                                  # its state is r x n or m x r
        u = scale * (P N       if m >= n   else   N P^T)

    Other leaves (by default those that are not 2-D) go through
    `base_optimizer` unprojected. `base_optimizer` must not need params
    (`scale_by_adam`, `scale_by_lion`, ...: not `adamw`); use `galore`'s
    `weight_decay` for decoupled weight decay.

    Args:
      rank, update_proj_gap, scale: {galore}
      base_optimizer: the transformation run in the low-rank space; `None`
        (default) is `scale_by_adam()`.
      weight_dimension_numbers: `None` (project the 2-D leaves), one
        `GaLoreDimensionNumbers` (for every leaf of rank >= 2), a pytree of
        them with `None` for leaves not to project, or a callable
        `params -> such a pytree`.

    Returns:
      A `GradientTransformation` with state `GaLoreState(count, base_optimizer_state, projector)`.

    Reference: Zhao et al., "GaLore: Memory-Efficient LLM Training by Gradient
    Low-Rank Projection", ICML 2024 (https://arxiv.org/abs/2403.03507).
    """
    who = "scale_by_galore"
    _validate_galore(who, rank, update_proj_gap, scale)
    base = with_extra_args_support(scale_by_adam() if base_optimizer is None else base_optimizer)

    def dimension_numbers(tree):
        if weight_dimension_numbers is None:
            return jax.tree.map(lambda p: GaLoreDimensionNumbers() if p.ndim == 2 else None, tree)
        if callable(weight_dimension_numbers):
            return weight_dimension_numbers(tree)
        if _is_dim_nums(weight_dimension_numbers):
            return jax.tree.map(lambda p: weight_dimension_numbers if p.ndim >= 2 else None, tree)
        return weight_dimension_numbers

    def uses_left_projector(rows: int, columns: int) -> bool:
        return rows >= columns

    def projector_and_proxy_shapes(p, dim_nums):
        _, _, (rows, columns) = _matrix_view(p, dim_nums)
        r = min(rank, rows, columns)
        if uses_left_projector(rows, columns):
            return (rows, r), (r, columns)
        return (columns, r), (rows, r)

    def shapes(p, dim_nums):
        if dim_nums is None:
            return jnp.zeros((0, 0), p.dtype), jnp.zeros_like(p)
        projector_shape, proxy_shape = projector_and_proxy_shapes(p, dim_nums)
        return jnp.zeros(projector_shape, p.dtype), jnp.zeros(proxy_shape, p.dtype)

    def check_matches_state(updates, projectors, dims):
        # Structure first (projectors have one leaf per param), then each projector's shape.
        checks.check_same_structure(
            jax.tree.map(lambda _: 0, updates),
            jax.tree.map(lambda _: 0, projectors),
            who=who,
            what="state.projector",
        )
        flat, _ = jax.tree_util.tree_flatten_with_path(updates)
        flat_projectors = jax.tree.leaves(projectors)
        flat_dims = jax.tree.structure(updates).flatten_up_to(dims)
        for (path, g), projector, dim_nums in zip(flat, flat_projectors, flat_dims):
            if dim_nums is None:
                continue  # unprojected: the base optimizer checks it against its own state
            expected, _ = projector_and_proxy_shapes(g, dim_nums)
            if expected != projector.shape:
                raise ValueError(
                    f"{who}: the updates leaf at {jax.tree_util.keystr(path)} has shape {g.shape}, which "
                    f"needs a projector of shape {expected}, but state.projector has {projector.shape}; "
                    "grads must have the shapes of the params the state was built from"
                )

    def init(params):
        if not jax.tree.leaves(params):
            return GaLoreState(count=zero_count(), base_optimizer_state=base.init(params), projector=params)
        results = jax.tree.map(shapes, params, dimension_numbers(params), is_leaf=_is_dim_nums_leaf)
        projectors, proxies = jax.tree.transpose(
            jax.tree.structure(params), jax.tree.structure((0, 0)), results
        )
        return GaLoreState(count=zero_count(), base_optimizer_state=base.init(proxies), projector=projectors)

    def update(updates, state, params=None, **extra_args):
        del params
        dims = dimension_numbers(updates)
        check_matches_state(updates, state.projector, dims)
        refresh = (state.count % update_proj_gap) == 0

        def project(g, projector, dim_nums):
            if dim_nums is None:
                return g, projector
            to_matrix, _, (rows, columns) = _matrix_view(g, dim_nums)
            g_2d = to_matrix(g)
            r = min(rank, rows, columns)
            if uses_left_projector(rows, columns):

                def fresh():
                    u, _, _ = jnp.linalg.svd(g_2d.astype(jnp.float32), full_matrices=False)
                    return u[:, :r].astype(g.dtype)

                projector = jax.lax.cond(refresh, fresh, lambda: projector)
                return promoted(jnp.matmul, projector.T, g_2d), projector

            def fresh():
                _, _, vh = jnp.linalg.svd(g_2d.astype(jnp.float32), full_matrices=False)
                return vh[:r, :].T.astype(g.dtype)

            projector = jax.lax.cond(refresh, fresh, lambda: projector)
            return promoted(jnp.matmul, g_2d, projector), projector

        def project_back(n, projector, g, dim_nums):
            if dim_nums is None:
                return n
            _, from_matrix, (rows, columns) = _matrix_view(g, dim_nums)
            if uses_left_projector(rows, columns):
                full = promoted(jnp.matmul, projector, n)
            else:
                full = promoted(jnp.matmul, n, projector.T)
            return promoted(jnp.multiply, scale, from_matrix(full)).astype(g.dtype)

        results = jax.tree.map(project, updates, state.projector, dims, is_leaf=_is_dim_nums_leaf)
        low_rank, projectors = jax.tree.transpose(
            jax.tree.structure(updates), jax.tree.structure((0, 0)), results
        )
        low_rank_updates, base_state = base.update(low_rank, state.base_optimizer_state, None, **extra_args)
        full = jax.tree.map(
            project_back, low_rank_updates, projectors, updates, dims, is_leaf=_is_dim_nums_leaf
        )
        new_state = GaLoreState(
            count=safe_increment(state.count), base_optimizer_state=base_state, projector=projectors
        )
        return full, new_state

    return GradientTransformationExtraArgs(init, update)
