"""Too high, about right, too low: one logistic regression, three learning rates.

Full-batch gradient descent (`gdx.sgd`) on a logistic regression whose five
features are *not* standardized: they sit around means of 2, -1, 1.5, 0.5 and
1 with a spread of 1, so the loss surface is steep along the mean direction
(curvature about 2.5 at the start) and shallow along the directions that carry
the signal. Gradient descent is stable only while learning_rate * curvature < 2:

- 5.0 overshoots: the loss jumps from 0.69 to about 7, then keeps
  oscillating far above where it started; it never settles.
- 0.5 descends smoothly, every step lower than the last.
- 0.001 is stable but barely moves in 500 epochs.

    python examples/learning_rate_effect.py [--epochs 500] [--output-dir DIR]

Writes `learning_rate_effect.png` (loss per epoch, log scale). Standardizing the
features (zero mean, unit variance) removes the steep direction, which is why it
is the first thing to do before tuning a learning rate.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

import gdx

DEFAULT_OUTPUT_DIR = Path(__file__).resolve().parent / "output"
LEARNING_RATES = {5.0: "too high", 0.5: "good", 0.001: "too low"}
COLORS = {5.0: "#d62728", 0.5: "#2ca02c", 0.001: "#7f7f7f"}
FEATURE_MEANS = (2.0, -1.0, 1.5, 0.5, 1.0)


def make_data(num_examples: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unstandardized features (means `FEATURE_MEANS`, spread 1) and noisy 0/1 labels."""
    rng = np.random.default_rng(seed)
    centered = rng.standard_normal((num_examples, len(FEATURE_MEANS)))
    features = np.asarray(FEATURE_MEANS) + centered
    true_weights = np.array([1.0, -0.5, 0.3, -0.8, 0.6])
    # Label noise keeps the best loss well above 0, so the curvature at the optimum stays large.
    labels = centered @ true_weights + 1.5 * rng.standard_normal(num_examples) > 0
    return features.astype(np.float32), labels.astype(np.float32)


def binary_cross_entropy(params: dict[str, jax.Array], features: jax.Array, labels: jax.Array) -> jax.Array:
    logits = features @ params["w"] + params["b"]
    # log(1 + e^z) - y z: the cross-entropy of sigmoid(z), without overflow for large |z|.
    return jnp.mean(jax.nn.softplus(logits) - labels * logits)


def train(features: np.ndarray, labels: np.ndarray, learning_rate: float, epochs: int) -> np.ndarray:
    """Full-batch gradient descent from zero weights; returns the loss before each epoch."""
    params = {"w": jnp.zeros(features.shape[1], jnp.float32), "b": jnp.zeros((), jnp.float32)}
    optimizer = gdx.sgd(learning_rate)

    @jax.jit
    def run(params):
        def epoch(carry, _):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(binary_cross_entropy)(params, features, labels)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (gdx.apply_updates(params, updates), opt_state), loss

        _, losses = jax.lax.scan(epoch, (params, optimizer.init(params)), length=epochs)
        return losses

    return np.asarray(run(params))


def plot(histories: dict[float, np.ndarray], path: Path) -> None:
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    for learning_rate, losses in histories.items():
        axes.plot(
            np.arange(1, losses.size + 1),
            losses,
            color=COLORS[learning_rate],
            linewidth=1.6,
            label=f"lr = {learning_rate:g} ({LEARNING_RATES[learning_rate]}): final {losses[-1]:.3f}",
        )
    axes.axhline(np.log(2.0), color="black", linestyle=":", linewidth=1, label="start: ln 2 = 0.693")
    axes.set_yscale("log")
    ticks = [0.5, 0.7, 1.0, 2.0, 4.0, 8.0]
    axes.set_yticks(ticks, labels=[f"{tick:g}" for tick in ticks])
    axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("epoch (one full-batch gradient step)")
    axes.set_ylabel("binary cross-entropy (log scale)")
    axes.set_title("Learning rate effect: logistic regression on unstandardized features")
    axes.legend(loc="upper right")
    axes.grid(True, which="both", alpha=0.3)
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=500, help="full-batch steps per run (default 500)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where the PNG goes")
    args = parser.parse_args(argv)

    features, labels = make_data()
    histories = {lr: train(features, labels, lr, args.epochs) for lr in LEARNING_RATES}
    for learning_rate, losses in histories.items():
        last = losses[-min(100, losses.size) :]
        label = f"lr {learning_rate:>6g} ({LEARNING_RATES[learning_rate]:>8})"
        print(
            f"{label}: loss {losses[0]:.3f} -> {losses[-1]:.3f}, highest {losses.max():.3f}, "
            f"last {last.size} epochs between {last.min():.3f} and {last.max():.3f}"
        )

    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "learning_rate_effect.png"
    plot(histories, path)
    print(f"wrote {path}")
    return {"histories": histories, "plot": path}


if __name__ == "__main__":
    main()
