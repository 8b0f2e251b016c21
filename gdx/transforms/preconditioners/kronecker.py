"""Kronecker-factored preconditioner math shared by `scale_by_shampoo` and `scale_by_soap`.

A 2-D gradient `G` (m x n) has a left factor `L ~ E[G G^T]` (m x m) and a right
factor `R ~ E[G^T G]` (n x n). Everything here is float32, static-shaped and
batched over leading axes, so that the blocks of one leaf go through a single
batched `eigh`.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

# The smallest eigenvalue floor: keeps `w ** (-1/p)` finite when a factor is all zeros
# (a zero gradient block, or the padding of a ragged block, whose direction is zero anyway).
_TINY = float(jnp.finfo(jnp.float32).tiny)


def matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    """`a @ b` at full float32 precision.

    GPUs/TPUs default to reduced-precision passes (TF32/bf16) for float32 dots, too coarse
    for statistics that go through an inverse root, so there the dot asks for `HIGHEST`.
    XLA:CPU computes float32 dots exactly anyway, and with jax 0.10 an explicit `HIGHEST`
    there made some batched Shampoo steps (128-blocks of a 256x256 leaf) hang, so on CPU
    the precision is left at its default.
    """
    precision = None if jax.default_backend() == "cpu" else jax.lax.Precision.HIGHEST
    return jnp.matmul(a, b, precision=precision)


def symmetrize(mat: jax.Array) -> jax.Array:
    """`(M + M^T) / 2` on the last two axes (removes float32 asymmetry before `eigh`)."""
    return (mat + jnp.swapaxes(mat, -1, -2)) / 2


def eigh_descending(mat: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues (descending) and eigenvectors (columns, same order) of symmetric `mat`, batched."""
    eigenvalues, eigenvectors = jnp.linalg.eigh(symmetrize(mat))
    return jnp.flip(eigenvalues, -1), jnp.flip(eigenvectors, -1)


def inverse_pth_root(mat: jax.Array, p: int, matrix_epsilon: ArrayLike) -> jax.Array:
    """`M^(-1/p)` of a symmetric PSD `M` (batched over leading axes), via `eigh` in float32.

    Eigenvalues below `matrix_epsilon * max_eigenvalue` are clipped up to it (a
    relative ridge, as the default `relative_matrix_epsilon=True` of Anil et
    al.'s reference code), so rank-deficient statistics give a bounded root.

        w, V = eigh(M);   w <- max(w, matrix_epsilon * max(w));   M^(-1/p) = V diag(w^(-1/p)) V^T
    """
    eigenvalues, eigenvectors = jnp.linalg.eigh(symmetrize(mat.astype(jnp.float32)))
    largest = jnp.max(eigenvalues, axis=-1, keepdims=True)
    floor = jnp.maximum(jnp.asarray(matrix_epsilon, jnp.float32) * largest, _TINY)
    clipped = jnp.maximum(eigenvalues, floor)
    scale = clipped ** jnp.float32(-1.0 / p)
    return matmul(eigenvectors * scale[..., None, :], jnp.swapaxes(eigenvectors, -1, -2))


def inverse_pth_roots(mats: list[jax.Array], p: int, matrix_epsilon: ArrayLike) -> list[jax.Array]:
    """`inverse_pth_root` of every matrix in `mats`, with one batched `eigh` per matrix size.

    Matrices of the same side length (across leaves and blocks) are stacked and
    decomposed together: fewer, larger `eigh` calls compile and run faster than
    one per leaf, and avoid an XLA:CPU hang seen with several concurrent `eigh`
    calls of different batch sizes in one computation (jax 0.10.2). Empty
    placeholders (size 0) are returned as they are.
    """
    sizes = sorted({m.shape[-1] for m in mats if m.size})
    roots: list[jax.Array] = list(mats)
    for n in sizes:
        members = [i for i, m in enumerate(mats) if m.size and m.shape[-1] == n]
        stacked = jnp.concatenate([mats[i].reshape(-1, n, n) for i in members])
        batched = inverse_pth_root(stacked, p, matrix_epsilon)
        offset = 0
        for i in members:
            count = mats[i].size // (n * n)
            roots[i] = batched[offset : offset + count].reshape(mats[i].shape)
            offset += count
    return roots


class BlockLayout(NamedTuple):
    """How a leaf is seen as a grid of matrix blocks (all static Python ints).

    The leaf is reshaped to a matrix `(rows, cols)` (leading axes merged),
    zero-padded to `(row_blocks * block_rows, col_blocks * block_cols)` and cut
    into `row_blocks x col_blocks` blocks of `block_rows x block_cols`. The
    padding is zero in the gradient, so it adds nothing to a block's statistics
    and gets a zero update; it only costs memory for ragged edges.
    """

    shape: tuple[int, ...]
    rows: int
    cols: int
    block_rows: int
    block_cols: int
    row_blocks: int
    col_blocks: int


def block_layout(shape: tuple[int, ...], block_size: int | None) -> BlockLayout:
    """The layout of a leaf of rank >= 2; `block_size=None` keeps it one block."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    block_rows = rows if block_size is None else min(rows, block_size)
    block_cols = cols if block_size is None else min(cols, block_size)
    return BlockLayout(
        tuple(shape), rows, cols, block_rows, block_cols, -(-rows // block_rows), -(-cols // block_cols)
    )


def to_blocks(x: jax.Array, layout: BlockLayout) -> jax.Array:
    """Leaf -> blocks of shape `(row_blocks, col_blocks, block_rows, block_cols)`."""
    matrix = x.reshape(layout.rows, layout.cols)
    padded_rows = layout.row_blocks * layout.block_rows
    padded_cols = layout.col_blocks * layout.block_cols
    matrix = jnp.pad(matrix, ((0, padded_rows - layout.rows), (0, padded_cols - layout.cols)))
    blocks = matrix.reshape(layout.row_blocks, layout.block_rows, layout.col_blocks, layout.block_cols)
    return blocks.transpose(0, 2, 1, 3)


def from_blocks(blocks: jax.Array, layout: BlockLayout) -> jax.Array:
    """Inverse of `to_blocks` (the padding dropped)."""
    matrix = blocks.transpose(0, 2, 1, 3).reshape(
        layout.row_blocks * layout.block_rows, layout.col_blocks * layout.block_cols
    )
    return matrix[: layout.rows, : layout.cols].reshape(layout.shape)


def left_statistic(g: jax.Array) -> jax.Array:
    """`G G^T` on the last two axes, batched."""
    return matmul(g, jnp.swapaxes(g, -1, -2))


def right_statistic(g: jax.Array) -> jax.Array:
    """`G^T G` on the last two axes, batched."""
    return matmul(jnp.swapaxes(g, -1, -2), g)


def batched_eye(batch: tuple[int, ...], size: int) -> jax.Array:
    """Identity matrices of `size`, broadcast to `(*batch, size, size)`, float32."""
    return jnp.broadcast_to(jnp.eye(size, dtype=jnp.float32), (*batch, size, size))


def placeholder() -> jax.Array:
    """The state entry of a factor a leaf does not have (empty float32 array: a leaf, no memory)."""
    return jnp.zeros((0,), jnp.float32)
