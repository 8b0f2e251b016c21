"""Batch, stochastic and mini-batch gradient descent on the same problem.

A linear regression with 32,768 examples and 32 features, trained for the same
number of steps (1,000) with `gdx.sgd(0.02)` and different batch sizes:

- batch size 1 (stochastic gradient descent): cheap steps, but each one sees a
  single example, so it descends slowly and then bounces around a loss several
  times higher than the others reach;
- mini-batches of 32, 128 and 512: nearly as steady as the full batch per
  step, at a fraction of the cost (32 examples per step is 1,024 updates per
  epoch on this data set);
- the full batch (batch gradient descent): the exact gradient, the smoothest
  curve, and the most expensive step.

The figure shows the full-data-set loss against steps, against examples
processed (epochs) and against wall-clock time (each step is a jitted call
from a Python loop, the usual training loop; evaluation is not timed). Small
batches make the most of each example; large ones the most of each step; on
wall time the mini-batches win. Timings depend on the machine.

    python examples/batch_sizes.py [--steps 1000] [--num-examples 32768] [--output-dir DIR]

Writes `batch_sizes.png`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

import gdx

DEFAULT_OUTPUT_DIR = Path(__file__).resolve().parent / "output"
MINI_BATCH_SIZES = (32, 128, 512)


def make_data(num_examples: int, num_features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal features; targets from fixed random weights plus noise (std 0.5)."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((num_examples, num_features))
    true_weights = rng.standard_normal(num_features)
    targets = features @ true_weights + 0.7 + 0.5 * rng.standard_normal(num_examples)
    return features.astype(np.float32), targets.astype(np.float32)


def mean_squared_error(params, features, targets):
    return jnp.mean((features @ params["w"] + params["b"] - targets) ** 2)


def train(
    features, targets, batch_size: int, *, steps: int, learning_rate: float, evaluations: int, seed: int = 0
):
    """Trains with mini-batches of `batch_size` (epoch-wise shuffled; full batch if >= the data set).

    Returns a dict of arrays over the evaluation points: `steps`, `epochs`
    (examples processed / data set size), `seconds` (training time so far) and
    `loss` (on the whole data set).
    """
    num_examples = features.shape[0]
    full_batch = batch_size >= num_examples
    optimizer = gdx.sgd(learning_rate)
    params = {"w": jnp.zeros(features.shape[1], jnp.float32), "b": jnp.zeros((), jnp.float32)}
    opt_state = optimizer.init(params)

    @jax.jit
    def train_step(params, opt_state, features, targets, indices):
        if indices is not None:  # a mini-batch; None (a static argument) means the full batch
            features, targets = features[indices], targets[indices]
        grads = jax.grad(mean_squared_error)(params, features, targets)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return gdx.apply_updates(params, updates), opt_state

    full_loss = jax.jit(mean_squared_error)
    rng = np.random.default_rng(seed)
    order = np.empty(0, np.int32)
    evaluate_at = set(np.unique(np.geomspace(1, steps, evaluations).astype(int)).tolist())
    history = {
        "steps": [0],
        "epochs": [0.0],
        "seconds": [0.0],
        "loss": [float(full_loss(params, features, targets))],
    }
    # Compile before timing: every batch size pays it once, it is not what this example is about.
    jax.block_until_ready(
        train_step(
            params, opt_state, features, targets, None if full_batch else np.zeros(batch_size, np.int32)
        )
    )
    seconds = 0.0
    start = time.perf_counter()
    for step in range(1, steps + 1):
        indices = None
        if not full_batch:
            if order.size < batch_size:
                order = rng.permutation(num_examples).astype(np.int32)
            indices, order = order[:batch_size], order[batch_size:]
        params, opt_state = train_step(params, opt_state, features, targets, indices)
        if step in evaluate_at:
            jax.block_until_ready(params)
            seconds += time.perf_counter() - start
            history["steps"].append(step)
            history["epochs"].append(step * min(batch_size, num_examples) / num_examples)
            history["seconds"].append(seconds)
            history["loss"].append(float(full_loss(params, features, targets)))
            start = time.perf_counter()
    return {key: np.asarray(values) for key, values in history.items()}


def plot(histories: dict[int, dict[str, np.ndarray]], num_examples: int, path: Path) -> None:
    figure = Figure(figsize=(14, 4.3), layout="constrained")
    axes_by_x = dict(zip(("steps", "epochs", "seconds"), figure.subplots(1, 3, sharey=True)))
    colors = colormaps["viridis"](np.linspace(0.0, 0.9, len(histories)))
    for (batch_size, history), color in zip(histories.items(), colors):
        if batch_size == 1:
            label = "batch 1 (stochastic)"
        elif batch_size >= num_examples:
            label = f"batch {num_examples} (full batch)"
        else:
            label = f"mini-batch {batch_size}"
        for x_key, axes in axes_by_x.items():
            x = history[x_key]
            keep = x > 0  # log-scale x axes
            axes.plot(x[keep], history["loss"][keep], color=color, linewidth=2, label=label)
    titles = {
        "steps": ("optimizer steps (log scale)", "Loss per step"),
        "epochs": ("epochs = examples processed / data set size (log scale)", "Loss per example seen"),
        "seconds": ("training wall time, seconds (log scale)", "Loss per second"),
    }
    for x_key, axes in axes_by_x.items():
        xlabel, title = titles[x_key]
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel(xlabel)
        axes.set_title(title)
        axes.grid(True, which="both", alpha=0.3)
    axes_by_x["steps"].set_ylabel("mean squared error on all examples (log scale)")
    axes_by_x["steps"].legend()
    figure.suptitle(f"Batch size: gdx.sgd on a linear regression with {num_examples:,} examples")
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps", type=int, default=1000, help="optimizer steps per batch size (default 1000)"
    )
    parser.add_argument("--num-examples", type=int, default=32768, help="data set size (default 32768)")
    parser.add_argument("--num-features", type=int, default=32, help="features (default 32)")
    parser.add_argument("--learning-rate", type=float, default=0.02, help="default 0.02")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where the PNG goes")
    args = parser.parse_args(argv)

    features, targets = make_data(args.num_examples, args.num_features)
    features, targets = jnp.asarray(features), jnp.asarray(targets)
    batch_sizes = (1, *MINI_BATCH_SIZES, args.num_examples)
    histories = {}
    print(f"{args.steps} steps of gdx.sgd({args.learning_rate:g}) on {args.num_examples:,} examples:")
    for batch_size in batch_sizes:
        history = train(
            features, targets, batch_size, steps=args.steps, learning_rate=args.learning_rate, evaluations=50
        )
        histories[batch_size] = history
        print(
            f"  batch {batch_size:>6}: {args.num_examples // batch_size:>6} steps per epoch, "
            f"final loss {history['loss'][-1]:8.4f}, {history['epochs'][-1]:8.3f} epochs, "
            f"{history['seconds'][-1] / args.steps * 1e6:7.1f} us per step"
        )

    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "batch_sizes.png"
    plot(histories, args.num_examples, path)
    print(f"wrote {path}")
    return {"histories": histories, "plot": path}


if __name__ == "__main__":
    main()
