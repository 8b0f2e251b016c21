"""SGD vs Adam on ill-conditioned features: scales 1, 100 and 0.01.

A linear regression on three features whose scales differ by a factor of
10,000 (standard deviations 1, 100 and 0.01) and a target that needs all three:
y = 1 * x1 + 0.01 * x2 + 100 * x3 + noise(0.1), so each feature contributes
the same variance. (A regression, so the best weights are finite and can be
compared with the true ones; the loss floor is the noise, 0.01.)

Gradient descent moves weight i by about learning_rate * scale_i**2 per step
(times its error): the scale-100 feature caps the learning rate (from 2e-4 on
the steps blow up) and at that rate the weight of the scale-0.01 feature moves
by ~1e-8 of its distance per step: SGD fits x2, barely starts on x1 and never
touches x3. Adam divides each gradient by its own running RMS, so every weight
moves about learning_rate per step whatever its feature's scale: its first
steps overshoot on x2 (the spike at the start), then it fits all three.

Each optimizer runs 500 full-batch epochs at every learning rate of a grid (all
learning rates in one compiled program, `jax.vmap` over the learning rate). At
its best learning rate SGD ends near 1.8, Adam near the noise floor 0.01.

    python examples/sgd_vs_adam.py [--epochs 500] [--output-dir DIR]

Writes `sgd_vs_adam.png`: the loss of each optimizer's best run (log scale) and
the final loss against the learning rate.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

import gdx

DEFAULT_OUTPUT_DIR = Path(__file__).resolve().parent / "output"
FEATURE_SCALES = (1.0, 100.0, 0.01)
TRUE_WEIGHTS = (1.0, 0.01, 100.0)
NOISE = 0.1
LEARNING_RATE_GRIDS = {
    "sgd": (1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3),
    "adam": (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0),
}
COLORS = {"sgd": "#7f7f7f", "adam": "#1f77b4"}


def make_data(num_examples: int = 1000, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Features with standard deviations `FEATURE_SCALES`; targets x . `TRUE_WEIGHTS` + noise."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((num_examples, len(FEATURE_SCALES))) * np.asarray(FEATURE_SCALES)
    targets = features @ np.asarray(TRUE_WEIGHTS) + NOISE * rng.standard_normal(num_examples)
    return features.astype(np.float32), targets.astype(np.float32)


def mean_squared_error(params: dict[str, jax.Array], features: jax.Array, targets: jax.Array) -> jax.Array:
    return jnp.mean((features @ params["w"] + params["b"] - targets) ** 2)


def train_grid(make_optimizer, learning_rates, features, targets, epochs: int):
    """Full-batch training from zero weights at each learning rate, vmapped over the learning rates.

    Returns `(losses, weights)`: the loss before each epoch, shape
    `(len(learning_rates), epochs)`, and the final weights, shape `(len(learning_rates), 3)`.
    """

    def train_one(learning_rate):
        optimizer = make_optimizer(learning_rate)  # a traced learning rate is fine
        params = {"w": jnp.zeros(features.shape[1], jnp.float32), "b": jnp.zeros((), jnp.float32)}

        def epoch(carry, _):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(mean_squared_error)(params, features, targets)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (gdx.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(epoch, (params, optimizer.init(params)), length=epochs)
        return losses, params["w"]

    losses, weights = jax.jit(jax.vmap(train_one))(jnp.asarray(learning_rates, jnp.float32))
    return np.asarray(losses), np.asarray(weights)


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    figure = Figure(figsize=(11, 4.3), layout="constrained")
    curve_axes, sweep_axes = figure.subplots(1, 2)
    diverged_level = 1e3  # where runs that blew up (inf/NaN) are marked on the sweep plot
    for name, result in results.items():
        best = result["best"]
        losses = result["losses"][best]
        curve_axes.plot(
            np.arange(1, losses.size + 1),
            losses,
            color=COLORS[name],
            linewidth=2,
            label=f"{name}, lr {result['learning_rates'][best]:g}: final {losses[-1]:.4f}",
        )
        finals = result["losses"][:, -1]
        finite = np.isfinite(finals) & (finals < diverged_level)
        sweep_axes.plot(
            result["learning_rates"][finite], finals[finite], "o-", color=COLORS[name], label=name
        )
        if not finite.all():
            sweep_axes.plot(
                result["learning_rates"][~finite],
                np.full((~finite).sum(), diverged_level),
                "x",
                color=COLORS[name],
                markersize=10,
                markeredgewidth=2,
                label=f"{name} diverged",
            )
    for axes in (curve_axes, sweep_axes):
        axes.axhline(NOISE**2, color="black", linestyle=":", linewidth=1, label=f"noise floor {NOISE**2:g}")
        axes.set_yscale("log")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    curve_axes.set_xlabel("epoch (one full-batch step)")
    curve_axes.set_ylabel("mean squared error (log scale)")
    curve_axes.set_title("Each optimizer at its best learning rate")
    sweep_axes.set_xscale("log")
    sweep_axes.set_xlabel("learning rate (log scale)")
    sweep_axes.set_ylabel(f"loss after {results['sgd']['losses'].shape[1]} epochs (log scale)")
    sweep_axes.set_title("Final loss vs learning rate")
    figure.suptitle("SGD vs Adam, linear regression on features with scales 1, 100 and 0.01")
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=500, help="full-batch steps per run (default 500)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where the PNG goes")
    args = parser.parse_args(argv)

    features, targets = make_data()
    optimizers = {"sgd": gdx.sgd, "adam": gdx.adam}
    results = {}
    for name, make_optimizer in optimizers.items():
        learning_rates = np.asarray(LEARNING_RATE_GRIDS[name])
        losses, weights = train_grid(make_optimizer, learning_rates, features, targets, args.epochs)
        finals = np.where(np.isfinite(losses[:, -1]), losses[:, -1], np.inf)
        best = int(np.argmin(finals))
        results[name] = {"learning_rates": learning_rates, "losses": losses, "weights": weights, "best": best}
        print(f"{name}: loss after {args.epochs} epochs by learning rate")
        for learning_rate, final, w in zip(learning_rates, losses[:, -1], weights):
            print(f"  lr {learning_rate:<6g} loss {final:8.4f}   weights {np.array2string(w, precision=4)}")
    sgd_best, adam_best = (results[name]["losses"][results[name]["best"], -1] for name in ("sgd", "adam"))
    print(f"true weights {TRUE_WEIGHTS}")
    print(f"best SGD loss {sgd_best:.4f}, best Adam loss {adam_best:.4f}: {sgd_best / adam_best:.0f}x lower")

    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "sgd_vs_adam.png"
    plot(results, path)
    print(f"wrote {path}")
    return {
        "results": results,
        "sgd_best_loss": float(sgd_best),
        "adam_best_loss": float(adam_best),
        "plot": path,
    }


if __name__ == "__main__":
    main()
