"""Six learning-rate schedules side by side, as gdx builds them.

A schedule is a function `step -> learning rate`; pass it where a learning rate
goes (`gdx.sgd(schedule)`, `gdx.adamw(schedule)`) and the optimizer evaluates
it at its own step count. Over 1,000 steps with a peak of 0.1:

- step decay: divide by 10 every 300 steps (`exponential_decay(staircase=True)`);
- exponential decay: multiply by 0.95 every 20 steps ("every epoch");
- cosine annealing: half a cosine from 0.1 down to 0 (`cosine_decay_schedule`);
- cosine with warm restarts: cycles of 100, 200, 300 and 400 steps, each
  restarting at the peak (`sgdr_schedule`, Loshchilov & Hutter 2017);
- linear warmup + cosine decay: 0 -> 0.1 in 100 steps, then cosine to 0.001
  (`warmup_cosine_decay_schedule`, the usual transformer recipe);
- one-cycle: up from 0.004 to 0.1 over the first 30%, then down to 4e-7
  (`cosine_onecycle_schedule`, Smith 2018).

    python examples/schedules.py [--steps 1000] [--output-dir DIR]

Writes `schedules.png` and prints each schedule's value at a few steps.
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
PEAK = 0.1


def make_schedules(steps: int) -> dict[str, tuple[str, Any]]:
    """`{name: (the gdx call, as text; the schedule)}` for a run of `steps` steps."""
    tenth = steps // 10
    cycles = [steps // 10, steps // 5, 3 * steps // 10]
    cycles.append(steps - sum(cycles))
    return {
        "step decay": (
            f"exponential_decay({PEAK},\n  transition_steps={3 * tenth},\n  decay_rate=0.1, staircase=True)",
            gdx.exponential_decay(PEAK, transition_steps=3 * tenth, decay_rate=0.1, staircase=True),
        ),
        "exponential decay": (
            f"exponential_decay({PEAK},\n  transition_steps={max(1, steps // 50)},\n  decay_rate=0.95)",
            gdx.exponential_decay(PEAK, transition_steps=max(1, steps // 50), decay_rate=0.95),
        ),
        "cosine annealing": (
            f"cosine_decay_schedule({PEAK},\n  decay_steps={steps})",
            gdx.cosine_decay_schedule(PEAK, decay_steps=steps),
        ),
        "cosine with warm restarts": (
            f"sgdr_schedule([...]): cycles of\n  {', '.join(map(str, cycles))} steps,\n"
            f"  {PEAK} -> {PEAK / 100:g} each",
            gdx.sgdr_schedule(
                [
                    {
                        "init_value": PEAK,
                        "peak_value": PEAK,
                        "warmup_steps": 0,
                        "decay_steps": length,
                        "end_value": PEAK / 100,
                    }
                    for length in cycles
                ]
            ),
        ),
        "linear warmup + cosine": (
            f"warmup_cosine_decay_schedule(\n  0.0, {PEAK}, warmup_steps={tenth},\n  decay_steps={steps}, "
            f"end_value={PEAK / 100:g})",
            gdx.warmup_cosine_decay_schedule(
                0.0, PEAK, warmup_steps=tenth, decay_steps=steps, end_value=PEAK / 100
            ),
        ),
        "one-cycle": (
            f"cosine_onecycle_schedule(\n  {steps}, {PEAK}, pct_start=0.3)",
            gdx.cosine_onecycle_schedule(steps, PEAK, pct_start=0.3),
        ),
    }


def evaluate(schedule, steps: int) -> np.ndarray:
    """The schedule at steps 0..steps-1, computed in one jitted, vmapped call."""
    return np.asarray(jax.jit(jax.vmap(schedule))(jnp.arange(steps)))


def plot(values: dict[str, np.ndarray], calls: dict[str, str], path: Path) -> None:
    figure = Figure(figsize=(14, 7.5), layout="constrained")
    grid = figure.subplots(2, 3, sharex=True)
    colors = ("#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#1f77b4", "#8c564b")
    for axes, (name, curve), color in zip(grid.flat, values.items(), colors):
        axes.plot(np.arange(curve.size), curve, color=color, linewidth=2.2)
        axes.set_title(name, fontsize=12, fontweight="bold")
        axes.text(
            0.98,
            0.96,
            "gdx." + calls[name],
            transform=axes.transAxes,
            ha="right",
            va="top",
            fontsize=7.5,
            family="monospace",
            color="#333333",
        )
        if name in ("step decay", "exponential decay"):
            axes.set_yscale("log")  # decays by decades: a straight line / even stairs on a log scale
            axes.set_ylabel("learning rate (log scale)")
        else:
            axes.set_ylim(0, PEAK * 1.4)  # headroom for the text
            axes.set_ylabel("learning rate")
        axes.grid(True, which="both", alpha=0.3)
    for axes in grid[-1]:
        axes.set_xlabel("step")
    figure.suptitle(f"Learning-rate schedules in gdx, {next(iter(values.values())).size} steps, peak {PEAK}")
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1000, help="schedule length (default 1000, >= 20)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where the PNG goes")
    args = parser.parse_args(argv)
    if args.steps < 20:
        parser.error(f"--steps must be >= 20, got {args.steps}")

    schedules = make_schedules(args.steps)
    values = {name: evaluate(schedule, args.steps) for name, (_, schedule) in schedules.items()}
    probes = sorted({0, args.steps // 10, 3 * args.steps // 10, args.steps // 2, args.steps - 1})
    print(f"{'schedule':<26}" + "".join(f"{f'step {step}':>12}" for step in probes))
    for name, curve in values.items():
        print(f"{name:<26}" + "".join(f"{curve[step]:>12.3g}" for step in probes))

    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "schedules.png"
    plot(values, {name: call for name, (call, _) in schedules.items()}, path)
    print(f"wrote {path}")
    return {"values": values, "plot": path}


if __name__ == "__main__":
    main()
