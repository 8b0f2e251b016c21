"""Momentum in a narrow valley: plain SGD, heavy-ball momentum and Nesterov on Rosenbrock.

f(x, y) = (1 - x)**2 + 100 (y - x**2)**2 has a curved, narrow valley whose
floor descends gently to the minimum at (1, 1). Across the valley the
curvature is ~1000 times larger than along it, so the learning rate that keeps
gradient descent from bouncing off the walls (1e-3 here) makes it crawl along
the floor. Momentum, `gdx.sgd(lr, momentum=0.9)`, keeps a running sum of past
gradients: the components that flip sign across the valley cancel, the
components along the floor add up, and it travels about 10x faster at the same
learning rate. Nesterov momentum (`nesterov=True`) takes the gradient a step
ahead, which damps the overshoot at the bends.

All three start at (-1.2, 1) and run 2,000 steps as one `jax.lax.scan` each.

    python examples/momentum_valley.py [--steps 2000] [--learning-rate 1e-3] [--output-dir DIR]

Writes `momentum_valley.png`: the trajectories on a contour plot and the loss
per step (log scale).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

import gdx

DEFAULT_OUTPUT_DIR = Path(__file__).resolve().parent / "output"
START = (-1.2, 1.0)
MINIMUM = (1.0, 1.0)
COLORS = {"sgd": "#ff7f0e", "momentum 0.9": "#1f77b4", "nesterov 0.9": "#d62728"}
LINE_WIDTHS = {"sgd": 4.0, "momentum 0.9": 1.6, "nesterov 0.9": 1.6}  # sgd underneath, it shares the path


def rosenbrock(point: jax.Array) -> jax.Array:
    x, y = point[0], point[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def optimize(optimizer: gdx.GradientTransformation, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Runs `optimizer` on Rosenbrock from `START`; returns the points (steps + 1, 2) and the losses."""

    @jax.jit
    def run(start):
        def step(carry, _):
            point, opt_state = carry
            loss, grad = jax.value_and_grad(rosenbrock)(point)
            updates, opt_state = optimizer.update(grad, opt_state, point)
            new_point = gdx.apply_updates(point, updates)
            return (new_point, opt_state), (new_point, loss)

        (final, _), (points, losses) = jax.lax.scan(step, (start, optimizer.init(start)), length=steps)
        return jnp.concatenate([start[None], points]), jnp.append(losses, rosenbrock(final))

    points, losses = run(jnp.asarray(START, jnp.float32))
    return np.asarray(points), np.asarray(losses)


def plot(runs: dict[str, tuple[np.ndarray, np.ndarray]], learning_rate: float, path: Path) -> None:
    figure = Figure(figsize=(13, 5.2), layout="constrained")
    contour_axes, loss_axes = figure.subplots(1, 2, width_ratios=(1.15, 1))
    x, y = np.meshgrid(np.linspace(-1.6, 1.6, 400), np.linspace(-0.6, 2.2, 400))
    surface = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    contours = contour_axes.contourf(
        x,
        y,
        surface,
        levels=np.geomspace(1e-2, 1e3, 22),
        norm=LogNorm(),
        cmap="Greys_r",
        extend="both",
        alpha=0.45,
    )
    figure.colorbar(
        contours, ax=contour_axes, label="f(x, y) (log scale)", ticks=[1e-2, 1e-1, 1, 10, 100, 1000]
    )
    for name, (points, losses) in runs.items():
        contour_axes.plot(
            points[:, 0],
            points[:, 1],
            "-",
            color=COLORS[name],
            linewidth=LINE_WIDTHS[name],
            label=f"{name}: ends at ({points[-1, 0]:.3f}, {points[-1, 1]:.3f})",
        )
        contour_axes.plot(
            points[::100, 0],
            points[::100, 1],
            "o",
            color=COLORS[name],
            markersize=3.5,
            markeredgecolor="black",
            markeredgewidth=0.4,
        )
        loss_axes.semilogy(
            np.arange(losses.size),
            losses,
            color=COLORS[name],
            linewidth=2,
            label=f"{name}: final {losses[-1]:.1e}",
        )
    contour_axes.plot(
        *START, "s", color="white", markeredgecolor="black", markersize=9, label="start (-1.2, 1)"
    )
    contour_axes.plot(
        *MINIMUM, "*", color="gold", markeredgecolor="black", markersize=16, label="minimum (1, 1)"
    )
    contour_axes.set_xlabel("x")
    contour_axes.set_ylabel("y")
    contour_axes.set_title("Trajectories (a dot every 100 steps)")
    contour_axes.legend(loc="lower left", fontsize=8.5)
    loss_axes.set_xlabel("step")
    loss_axes.set_ylabel("f(x, y) (log scale)")
    loss_axes.set_title("Loss per step")
    loss_axes.legend()
    loss_axes.grid(True, which="both", alpha=0.3)
    figure.suptitle(f"Rosenbrock valley, learning rate {learning_rate:g}: plain SGD vs momentum vs Nesterov")
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=2000, help="steps per optimizer (default 2000)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="default 1e-3")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where the PNG goes")
    args = parser.parse_args(argv)

    lr = args.learning_rate
    optimizers = {
        "sgd": gdx.sgd(lr),
        "momentum 0.9": gdx.sgd(lr, momentum=0.9),
        "nesterov 0.9": gdx.sgd(lr, momentum=0.9, nesterov=True),
    }
    runs = {name: optimize(optimizer, args.steps) for name, optimizer in optimizers.items()}
    for name, (points, losses) in runs.items():
        reached = np.flatnonzero(losses < 1e-4)
        when = f"below 1e-4 from step {reached[0]}" if reached.size else "never below 1e-4"
        print(f"{name:>13}: f = {losses[-1]:.2e} at ({points[-1, 0]:.4f}, {points[-1, 1]:.4f}), {when}")

    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "momentum_valley.png"
    plot(runs, lr, path)
    print(f"wrote {path}")
    return {"runs": runs, "plot": path}


if __name__ == "__main__":
    main()
