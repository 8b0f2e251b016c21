"""Plots of `python -m gdx demo`, written as PNG files.

Drawn with matplotlib's object-oriented API (`Figure`, rendered by Agg), so no
GUI backend or global pyplot state is involved.
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from gdx.demo.digits import DigitsComparison

GDX_COLOR = "#1f77b4"
OPTAX_COLOR = "#d62728"


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(window, values.size))
    cumulative = np.cumsum(np.insert(values.astype(np.float64), 0, 0.0))
    averaged = (cumulative[window:] - cumulative[:-window]) / window
    return np.concatenate([cumulative[1:window] / np.arange(1, window), averaged])


def _plot_loss_difference(axes, result: DigitsComparison, steps: np.ndarray) -> None:
    """Relative per-step loss difference of the two runs (log scale unless it is zero everywhere)."""
    difference = np.abs(result.gdx.losses.astype(np.float64) - result.optax.losses.astype(np.float64))
    relative = difference / np.maximum(np.abs(result.optax.losses), 1e-30)
    identical = int(np.sum(difference == 0))
    summary = (
        f"identical loss at {identical} of {steps.size} steps\n"
        f"max |param diff| after training: {result.max_param_difference:.1e}"
    )
    if identical == steps.size:
        axes.plot(steps, relative, color="#555555", linewidth=2)
        axes.set_ylim(-0.1, 1.0)
        axes.set_yticks([0.0])
        axes.text(0.5, 0.72, "bit-identical", transform=axes.transAxes, ha="center", fontsize=16)
        axes.text(0.5, 0.25, summary, transform=axes.transAxes, ha="center", va="center")
    else:
        epsilon = float(np.finfo(np.float32).eps)
        floor = epsilon / 4  # exact zeros are drawn at the bottom edge of the log scale
        axes.semilogy(steps, np.maximum(relative, floor), ".", color="#555555", markersize=2.5)
        axes.axhline(epsilon, color="#999999", linestyle=":", linewidth=1)
        axes.text(steps[-1], epsilon * 1.3, "float32 epsilon", ha="right", va="bottom", color="#777777")
        axes.set_ylim(floor / 2, max(1e-4, float(relative.max()) * 3))
        axes.text(0.5, 0.95, summary, transform=axes.transAxes, ha="center", va="top")
    axes.set_xlabel("step")
    axes.set_ylabel("|loss gdx - loss optax| / loss optax")
    axes.set_title("gdx vs optax, step by step")
    axes.grid(True, which="both", alpha=0.3)


def plot_loss_curves(result: DigitsComparison, path: Path) -> Path:
    """Loss per step of both runs (log scale) and their difference; saved as PNG at `path`."""
    steps = np.arange(1, result.config.steps + 1)
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    loss_axes, difference_axes = figure.subplots(1, 2, width_ratios=(3, 2))
    window = max(1, result.config.steps // 40)
    for run, color, style, width in (
        (result.gdx, GDX_COLOR, "-", 3.0),
        (result.optax, OPTAX_COLOR, "--", 1.3),
    ):
        loss_axes.plot(steps, run.losses, color=color, alpha=0.15, linewidth=0.8)
        loss_axes.plot(
            steps,
            _moving_average(run.losses, window),
            color=color,
            linestyle=style,
            linewidth=width,
            label=f"{run.library}: test accuracy {run.test_accuracy:.1%}",
        )
    loss_axes.set_yscale("log")
    loss_axes.set_xlabel("step")
    loss_axes.set_ylabel("mini-batch cross-entropy (log scale)")
    smoothing = f", {window}-step moving average over the raw per-step loss" if window > 1 else " per step"
    loss_axes.set_title(f"Training loss{smoothing}")
    loss_axes.legend(title="same init, same batches")
    loss_axes.grid(True, which="both", alpha=0.3)

    _plot_loss_difference(difference_axes, result, steps)
    figure.suptitle(result.config.describe(), fontsize=9)
    figure.savefig(path, dpi=120)
    return path


def plot_learning_rate(result: DigitsComparison, path: Path) -> Path:
    """The learning-rate schedule and the gradient norm before clipping; saved as PNG at `path`."""
    config = result.config
    steps = np.arange(1, config.steps + 1)
    figure = Figure(figsize=(8, 6), layout="constrained")
    rate_axes, norm_axes = figure.subplots(2, 1, sharex=True)
    rate_axes.plot(steps, result.gdx.learning_rates, color=GDX_COLOR, linewidth=2, label="gdx")
    rate_axes.plot(steps, result.optax.learning_rates, color=OPTAX_COLOR, linestyle="--", label="optax")
    rate_axes.axvspan(1, config.warmup_steps, color="#f2c14e", alpha=0.25, label="linear warmup")
    rate_axes.set_ylabel("learning rate")
    rate_axes.set_title(
        f"warmup_cosine_decay_schedule: 0 -> {config.peak_learning_rate:g} in {config.warmup_steps} steps, "
        f"cosine to {config.peak_learning_rate * config.end_learning_rate_fraction:g}"
    )
    rate_axes.legend()
    rate_axes.grid(True, alpha=0.3)

    norms = result.gdx.gradient_norms
    clipped = norms > config.max_gradient_norm
    norm_axes.semilogy(steps, norms, color=GDX_COLOR, linewidth=0.8, label="gradient norm before clipping")
    norm_axes.axhline(
        config.max_gradient_norm,
        color="#444444",
        linestyle="--",
        label=f"clip_by_global_norm({config.max_gradient_norm:g})",
    )
    norm_axes.fill_between(
        steps,
        config.max_gradient_norm,
        norms,
        where=clipped,
        color="#f28e2b",
        alpha=0.4,
        label=f"clipped ({int(clipped.sum())} steps)",
    )
    norm_axes.set_xlabel("step")
    norm_axes.set_ylabel("global gradient norm (log scale)")
    norm_axes.legend(loc="center right")
    norm_axes.grid(True, which="both", alpha=0.3)
    figure.savefig(path, dpi=120)
    return path


def write_plots(result: DigitsComparison, output_dir: Path) -> list[Path]:
    """Writes `loss_curves.png` and `learning_rate.png` to `output_dir` (created if missing)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    return [
        plot_loss_curves(result, output_dir / "loss_curves.png"),
        plot_learning_rate(result, output_dir / "learning_rate.png"),
    ]
