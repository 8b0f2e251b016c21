"""The learning-rate range test, sequential (one run, growing LR) or parallel (vmap over constant LRs)."""

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gdx.core import GradientTransformation, apply_updates
from gdx.optimizers.sgd import sgd
from gdx.tree_utils import tree_set
from gdx.wrappers.inject import inject_hyperparams


@dataclasses.dataclass(frozen=True)
class LRFindResult:
    """Result of `lr_find`.

    Attributes:
      mode: "range_test" or "parallel".
      lrs: range_test: the LR of each step, shape (steps,); parallel: the LRs tried, shape (num_lrs,).
      losses: range_test: loss per step, shape (steps,), cut where it diverged;
        parallel: loss curves, shape (num_lrs, num_steps).
      smoothed: range_test: the bias-corrected exponential moving average of
        `losses`; parallel: the mean loss of each curve's last tenth, shape (num_lrs,).
      suggestion: the suggested learning rate.
    """

    mode: str
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float

    def plot(self, path: str | Path) -> Path:
        """Writes a PNG of the loss against the learning rate (log x axis); returns its path."""
        from matplotlib.figure import Figure  # lazy: matplotlib is only needed for plots

        figure = Figure(figsize=(7, 4.5), layout="constrained")
        axes = figure.subplots()
        if self.mode == "range_test":
            axes.plot(self.lrs, self.losses, alpha=0.35, label="loss")
            axes.plot(self.lrs, self.smoothed, label="smoothed loss")
            axes.set_ylabel("loss")
        else:
            axes.plot(self.lrs, self.smoothed, marker="o", label="final loss (mean of last tenth)")
            axes.set_ylabel("final loss")
        axes.axvline(self.suggestion, color="black", linestyle=":", label=f"suggestion {self.suggestion:.3g}")
        axes.set_xscale("log")
        axes.set_xlabel("learning rate")
        axes.set_title(f"learning-rate finder ({self.mode})")
        axes.legend()
        axes.grid(True, which="both", alpha=0.3)
        path = Path(path)
        figure.savefig(path, dpi=110)
        return path


def _step_data(data: tuple[Any, ...], stacked_batches: bool, step: jax.Array) -> tuple[Any, ...]:
    if not stacked_batches:
        return data
    return jax.tree.map(lambda x: x[step], data)


def _training_losses(loss_fn, params, data, tx, learning_rates, stacked_batches):
    """Runs one `lax.scan` over the steps with the LR of step t = learning_rates[t]; returns the losses."""
    state = tx.init(params)

    def step(carry, inputs):
        params, state = carry
        index, learning_rate = inputs
        state = tree_set(state, learning_rate=learning_rate)
        loss, grads = jax.value_and_grad(loss_fn)(params, *_step_data(data, stacked_batches, index))
        updates, state = tx.update(grads, state, params)
        return (apply_updates(params, updates), state), loss

    steps = jnp.arange(learning_rates.shape[0], dtype=jnp.int32)
    _, losses = jax.lax.scan(step, (params, state), (steps, learning_rates))
    return losses


def _ema(values: np.ndarray, beta: float) -> np.ndarray:
    smoothed = np.empty_like(values)
    average = 0.0
    for index, value in enumerate(values):
        average = beta * average + (1 - beta) * value
        smoothed[index] = average / (1 - beta ** (index + 1))
    return smoothed


def lr_find(
    loss_fn: Callable[..., jax.Array],
    params: Any,
    data: tuple[Any, ...] = (),
    *,
    tx_factory: Callable[..., GradientTransformation] = sgd,
    min_lr: float = 1e-6,
    max_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "range_test",
    num_lrs: int = 16,
    stacked_batches: bool = False,
    beta: float = 0.9,
    divergence_factor: float = 4.0,
) -> LRFindResult:
    """The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks").

    `mode="range_test"`: one run of `num_steps` steps whose LR grows exponentially,
    `lr_t = min_lr * (max_lr / min_lr) ** (t / (num_steps - 1))`. The losses are
    smoothed with a bias-corrected EMA (`beta`), cut at the first step where the
    smoothed loss exceeds `divergence_factor` x its best so far (or is not finite),
    and the suggestion is the LR of the steepest descent of the smoothed loss
    against log(lr), capped at a tenth of the LR of the smallest smoothed loss.

    `mode="parallel"`: `num_lrs` constant LRs, log-spaced over `[min_lr, max_lr]`,
    each trained for `num_steps` steps from the same `params`, all at once with
    `jax.vmap` over the LR inside one compiled program. The suggestion is the LR
    whose curve ends lowest (mean of its last tenth; NaN curves lose).

    Both modes run the whole training as one jitted `lax.scan`. The optimizer is
    `inject_hyperparams(tx_factory)(learning_rate=...)`, so `tx_factory` is any
    optimizer taking `learning_rate` (gdx.sgd, gdx.adam, ...).

    Args:
      loss_fn: `loss_fn(params, *batch) -> scalar loss`.
      params: the initial params (every run starts from them).
      data: the arguments after params; every step gets the same `data` unless
        `stacked_batches`. Default ().
      tx_factory: optimizer constructor with a `learning_rate` argument. Default `gdx.sgd`.
      min_lr: smallest LR, > 0. Default 1e-6.
      max_lr: largest LR, > min_lr. Default 10.0.
      num_steps: steps of the range test, or of each parallel run, >= 4. Default 100.
      mode: "range_test" or "parallel". Default "range_test".
      num_lrs: LRs tried in parallel mode, >= 2. Default 16.
      stacked_batches: every leaf of `data` has a leading axis of length
        `num_steps` and step t uses `x[t]` (mini-batches). Default False.
      beta: EMA factor of the range-test smoothing, in [0, 1). Default 0.9.
      divergence_factor: range-test stop rule, > 1. Default 4.0.

    Returns:
      An `LRFindResult` with `.lrs`, `.losses`, `.smoothed`, `.suggestion`, `.plot(path)`.
    """
    if not 0 < min_lr < max_lr:
        raise ValueError(f"lr_find: need 0 < min_lr < max_lr, got min_lr={min_lr}, max_lr={max_lr}")
    if num_steps < 4:
        raise ValueError(f"lr_find: num_steps must be >= 4, got {num_steps}")
    if mode not in ("range_test", "parallel"):
        raise ValueError(f"lr_find: mode must be 'range_test' or 'parallel', got {mode!r}")
    if mode == "parallel" and num_lrs < 2:
        raise ValueError(f"lr_find: num_lrs must be >= 2, got {num_lrs}")
    if not 0 <= beta < 1:
        raise ValueError(f"lr_find: beta must be in [0, 1), got {beta}")
    if not divergence_factor > 1:
        raise ValueError(f"lr_find: divergence_factor must be > 1, got {divergence_factor}")
    tx = inject_hyperparams(tx_factory)(learning_rate=min_lr)
    data = jax.tree.map(jnp.asarray, tuple(data))
    if stacked_batches:
        for leaf in jax.tree.leaves(data):
            if leaf.ndim == 0 or leaf.shape[0] != num_steps:
                raise ValueError(
                    "lr_find: with stacked_batches every data leaf needs a leading axis of "
                    f"num_steps={num_steps}, got shape {leaf.shape}"
                )

    if mode == "parallel":
        lrs = np.geomspace(min_lr, max_lr, num_lrs).astype(np.float32)

        @jax.jit
        def run_all(lrs):
            def one(learning_rate):
                constant = jnp.full((num_steps,), learning_rate, jnp.float32)
                return _training_losses(loss_fn, params, data, tx, constant, stacked_batches)

            return jax.vmap(one)(lrs)

        curves = np.asarray(run_all(jnp.asarray(lrs)), np.float64)
        final = curves[:, -max(1, num_steps // 10) :].mean(axis=1)
        ranked = np.where(np.isfinite(final), final, np.inf)
        suggestion = float(lrs[int(np.argmin(ranked))])
        return LRFindResult("parallel", lrs.astype(np.float64), curves, final, suggestion)

    lrs = (min_lr * (max_lr / min_lr) ** (np.arange(num_steps) / (num_steps - 1))).astype(np.float32)
    losses = np.asarray(
        jax.jit(lambda lrs: _training_losses(loss_fn, params, data, tx, lrs, stacked_batches))(
            jnp.asarray(lrs)
        ),
        np.float64,
    )
    smoothed = _ema(np.where(np.isfinite(losses), losses, np.inf), beta)
    best = np.minimum.accumulate(smoothed)
    diverged = np.flatnonzero(~np.isfinite(smoothed) | (smoothed > divergence_factor * best))
    stop = int(diverged[0]) if diverged.size else num_steps
    stop = max(stop, 2)
    lrs64, losses, smoothed = lrs[:stop].astype(np.float64), losses[:stop], smoothed[:stop]
    slopes = np.gradient(smoothed, np.log(lrs64))
    steepest = float(lrs64[int(np.argmin(slopes))])
    at_minimum = float(lrs64[int(np.argmin(smoothed))])
    suggestion = min(steepest, at_minimum / 10) if at_minimum / 10 >= lrs64[0] else steepest
    return LRFindResult("range_test", lrs64, losses, smoothed, suggestion)
