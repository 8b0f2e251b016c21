"""Diagnose a training run: per-step metrics, the training doctor and the learning-rate finder.

The same unstandardized logistic regression as `learning_rate_effect.py`,
trained by full-batch `gdx.sgd` wrapped in `gdx.diagnostics.monitor`, which
keeps the gradient norm (and more) in the optimizer state at every step. The
doctor reads each run's loss and grad-norm history and names the problem:

- lr 5.0: the loss jumps far above its start: "diverging", divide the LR by ~10;
- lr 2.0: the loss bounces up and down without settling: "oscillating", divide by 2-3;
- lr 0.5: "healthy";
- lr 0.001: the loss barely moves: "too_low", raise it.

Then `gdx.diagnostics.lr_find(mode="parallel")` trains 12 constant learning
rates at once (one compiled program, vmapped over the LR) and suggests one.

    python examples/training_doctor.py [--epochs 200] [--output-dir DIR]

Writes `lr_find.png` (final loss against learning rate).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import gdx
from gdx import diagnostics

DEFAULT_OUTPUT_DIR = Path(__file__).resolve().parent / "output"
LEARNING_RATES = (5.0, 2.0, 0.5, 0.001)
FEATURE_MEANS = (2.0, -1.0, 1.5, 0.5, 1.0)


def make_data(num_examples: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """As in learning_rate_effect.py: features with means far from 0, noisy 0/1 labels."""
    rng = np.random.default_rng(seed)
    centered = rng.standard_normal((num_examples, len(FEATURE_MEANS)))
    features = np.asarray(FEATURE_MEANS) + centered
    labels = centered @ np.array([1.0, -0.5, 0.3, -0.8, 0.6]) + 1.5 * rng.standard_normal(num_examples) > 0
    return features.astype(np.float32), labels.astype(np.float32)


def binary_cross_entropy(params: dict[str, jax.Array], features: jax.Array, labels: jax.Array) -> jax.Array:
    logits = features @ params["w"] + params["b"]
    return jnp.mean(jax.nn.softplus(logits) - labels * logits)


def initial_params() -> dict[str, jax.Array]:
    return {"w": jnp.zeros(len(FEATURE_MEANS), jnp.float32), "b": jnp.zeros((), jnp.float32)}


def train(features, labels, learning_rate: float, epochs: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Full-batch SGD under the monitor; returns losses, grad norms and the last step's metrics."""
    optimizer = diagnostics.monitor(gdx.inject_hyperparams(gdx.sgd)(learning_rate=learning_rate))

    @jax.jit
    def run(params):
        def epoch(carry, _):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(binary_cross_entropy)(params, features, labels)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            # The metrics are plain arrays in the state: collect them inside the compiled loop.
            return (gdx.apply_updates(params, updates), opt_state), (loss, opt_state.metrics["grad_norm"])

        (_, opt_state), (losses, grad_norms) = jax.lax.scan(
            epoch, (params, optimizer.init(params)), length=epochs
        )
        return losses, grad_norms, opt_state

    losses, grad_norms, opt_state = run(initial_params())
    return np.asarray(losses), np.asarray(grad_norms), diagnostics.metrics(opt_state)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=200, help="full-batch steps per run (default 200)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where the PNG goes")
    args = parser.parse_args(argv)

    features, labels = make_data()
    diagnoses = {}
    for learning_rate in LEARNING_RATES:
        losses, grad_norms, last = train(features, labels, learning_rate, args.epochs)
        diagnoses[learning_rate] = diagnostics.doctor(losses, grad_norms)
        print(
            f"lr {learning_rate:g}: loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
            f"grad norm {last['grad_norm']:.3g}, update/param {last['update_param_ratio']:.2g}"
        )
        print(f"  {diagnoses[learning_rate]}")

    found = diagnostics.lr_find(
        binary_cross_entropy,
        initial_params(),
        (features, labels),
        min_lr=1e-3,
        max_lr=10.0,
        num_steps=args.epochs,
        mode="parallel",
        num_lrs=12,
    )
    print(f"lr_find (12 learning rates in parallel): suggested learning rate {found.suggestion:.3g}")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = found.plot(args.output_dir / "lr_find.png")
    print(f"wrote {path}")
    return {"diagnoses": diagnoses, "lr_find": found, "plot": path}


if __name__ == "__main__":
    main()
