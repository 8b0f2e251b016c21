"""`python -m gdx lr-find`: the learning-rate finder on the digits MLP of `python -m gdx compare`."""

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

import gdx
from gdx.demo import compare, data
from gdx.diagnostics import LRFindResult, lr_find

OPTIMIZERS: dict[str, Callable[..., Any]] = {"sgd": gdx.sgd, "adam": gdx.adam, "adamw": gdx.adamw}


def run_lr_find(
    optimizer: str = "adam",
    *,
    mode: str = "range_test",
    steps: int = 100,
    batch_size: int = 128,
    num_lrs: int = 12,
    min_lr: float = 1e-5,
    max_lr: float = 10.0,
    seed: int = 0,
) -> LRFindResult:
    """`gdx.diagnostics.lr_find` on the 64-32-10 tanh MLP, with mini-batches of the digits train set."""
    x_train, y_train, _, _ = data.load_digits_split(seed)
    indices = data.batch_indices(x_train.shape[0], batch_size, steps, seed)
    batches = (jnp.asarray(x_train[indices]), jnp.asarray(y_train[indices]))
    params = compare.init_mlp(seed)
    return lr_find(
        compare.cross_entropy_loss,
        params,
        batches,
        stacked_batches=True,
        tx_factory=OPTIMIZERS[optimizer],
        min_lr=min_lr,
        max_lr=max_lr,
        num_steps=steps,
        mode=mode,
        num_lrs=num_lrs,
    )


def table_cells(result: LRFindResult) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: the final loss per LR (parallel), or loss at log-spaced LRs (range test)."""
    if result.mode == "parallel":
        rows = [[f"{lr:.3g}", f"{loss:.4f}"] for lr, loss in zip(result.lrs, result.smoothed, strict=True)]
        return ["learning rate", "final loss (mean of last tenth)"], rows
    picks = sorted({int(i) for i in jnp.linspace(0, len(result.lrs) - 1, min(12, len(result.lrs)))})
    rows = [[f"{result.lrs[i]:.3g}", f"{result.smoothed[i]:.4f}"] for i in picks]
    return ["learning rate", "smoothed loss"], rows
