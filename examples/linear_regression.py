"""Plain gradient descent learns a line: y = 2x + 1 with `gdx.sgd(0.05)`.

The smallest complete training loop: a loss, its gradient from `jax.grad`, and
an optimizer that turns the gradient into an update,

    w <- w - learning_rate * dLoss/dw

(`gdx.sgd` without momentum is exactly that; the minus sign is inside the
optimizer, `gdx.apply_updates` adds the update). 100 noisy points on
y = 2x + 1, 200 steps, learning rate 0.05: w and b land on 2 and 1, next to the
closed-form least-squares answer, which for a problem this small is the faster
way to get it.

    python examples/linear_regression.py [--steps 200] [--learning-rate 0.05] [--output-dir DIR]

Writes `linear_regression.png` (the loss per step on a log scale, the fitted line).
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


def make_data(num_points: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`num_points` x in [-2, 2] and y = 2x + 1 + noise * N(0, 1), float32."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-2.0, 2.0, num_points, dtype=np.float32)
    y = (2.0 * x + 1.0 + noise * rng.standard_normal(num_points)).astype(np.float32)
    return x, y


def mean_squared_error(params: dict[str, jax.Array], x: jax.Array, y: jax.Array) -> jax.Array:
    prediction = params["w"] * x + params["b"]
    return jnp.mean((prediction - y) ** 2)


def fit(x: np.ndarray, y: np.ndarray, *, steps: int, learning_rate: float, seed: int = 0):
    """Gradient descent from a random start; returns the final params and the loss before each step."""
    rng = np.random.default_rng(seed + 1)
    params = {
        "w": jnp.asarray(rng.standard_normal(), jnp.float32),
        "b": jnp.asarray(rng.standard_normal(), jnp.float32),
    }
    optimizer = gdx.sgd(learning_rate)
    opt_state = optimizer.init(params)

    @jax.jit
    def train_step(params, opt_state):
        loss, grads = jax.value_and_grad(mean_squared_error)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return gdx.apply_updates(params, updates), opt_state, loss

    losses = []
    for _ in range(steps):
        params, opt_state, loss = train_step(params, opt_state)
        losses.append(loss)
    return {name: float(value) for name, value in params.items()}, np.asarray(jnp.stack(losses))


def plot(x, y, params, losses, least_squares, learning_rate: float, path: Path) -> None:
    figure = Figure(figsize=(10, 4), layout="constrained")
    loss_axes, fit_axes = figure.subplots(1, 2)
    loss_axes.semilogy(np.arange(len(losses)), losses, color="#1f77b4", linewidth=2)
    loss_axes.axhline(
        losses[-1], color="#999999", linestyle=":", label=f"final loss {losses[-1]:.4f} (noise)"
    )
    loss_axes.set_xlabel("step")
    loss_axes.set_ylabel("mean squared error (log scale)")
    loss_axes.set_title(f"Gradient descent, gdx.sgd({learning_rate:g})")
    loss_axes.legend()
    loss_axes.grid(True, which="both", alpha=0.3)

    fit_axes.scatter(x, y, s=10, color="#888888", label="data: y = 2x + 1 + noise")
    fit_axes.plot(
        x,
        params["w"] * x + params["b"],
        color="#d62728",
        linewidth=2.5,
        label=f"gradient descent: y = {params['w']:.3f}x + {params['b']:.3f}",
    )
    slope, intercept = least_squares
    fit_axes.plot(
        x,
        slope * x + intercept,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"least squares: y = {slope:.3f}x + {intercept:.3f}",
    )
    fit_axes.set_xlabel("x")
    fit_axes.set_ylabel("y")
    fit_axes.set_title("The fitted line")
    fit_axes.legend()
    fit_axes.grid(True, alpha=0.3)
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=200, help="gradient descent steps (default 200)")
    parser.add_argument("--learning-rate", type=float, default=0.05, help="default 0.05")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where the PNG goes")
    args = parser.parse_args(argv)

    x, y = make_data()
    params, losses = fit(x, y, steps=args.steps, learning_rate=args.learning_rate)
    least_squares = tuple(float(v) for v in np.polyfit(x, y, deg=1))
    print(f"after {args.steps} steps: w = {params['w']:.4f}, b = {params['b']:.4f}, loss = {losses[-1]:.5f}")
    print(f"closed-form least squares: w = {least_squares[0]:.4f}, b = {least_squares[1]:.4f}")

    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "linear_regression.png"
    plot(x, y, params, losses, least_squares, args.learning_rate, path)
    print(f"wrote {path}")
    return {
        "w": params["w"],
        "b": params["b"],
        "losses": losses,
        "least_squares": least_squares,
        "plot": path,
    }


if __name__ == "__main__":
    main()
