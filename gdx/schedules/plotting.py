"""`plot(schedule, steps, path)`: a PNG of a schedule's values, to check a schedule before training."""

import os
import pathlib
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gdx._common import checks


def schedule_values(schedule: Callable[[Any], Any], steps: int) -> np.ndarray:
    """`schedule(0), ..., schedule(steps - 1)` as a float NumPy array (one jitted, vmapped call)."""
    counts = jnp.arange(steps, dtype=jnp.int32)
    return np.asarray(jax.jit(jax.vmap(schedule))(counts), np.float64)


def plot(
    schedule: Callable[[Any], Any],
    steps: int,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    log_scale: bool = False,
) -> pathlib.Path:
    """Writes a PNG of `schedule(count)` for `count` in `[0, steps)` to `path`.

    Needs matplotlib (`pip install "gdx[demo]"`); it is imported only here, and
    no global matplotlib state (backend, pyplot figures) is touched.

    Args:
      schedule: a schedule `count -> value` (any gdx or optax schedule).
      steps: how many steps to draw, an integer >= 1.
      path: where to write the PNG (parent directories must exist).
      title: keyword-only; the plot title. Default None: the schedule's `repr`
        (gdx's schedule classes print their arguments).
      log_scale: keyword-only; logarithmic value axis. Default False.

    Returns:
      `path` as a `pathlib.Path`.
    """
    who = "schedules.plot"
    if not callable(schedule):
        raise TypeError(f"{who}: schedule must be a callable count -> value, got {schedule!r}")
    checks.positive_int(who, "steps", steps)
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            f'{who} needs matplotlib: pip install "gdx[demo]" (or pip install matplotlib)'
        ) from error
    values = schedule_values(schedule, int(steps))
    figure = Figure(figsize=(7, 3.5), layout="constrained")
    axes = figure.subplots()
    axes.plot(np.arange(int(steps)), values)
    axes.set_xlabel("step")
    axes.set_ylabel("value")
    if log_scale:
        axes.set_yscale("log")
    axes.set_title(title if title is not None else _short_repr(schedule), fontsize=9)
    axes.grid(alpha=0.3)
    path = pathlib.Path(path)
    figure.savefig(path, format="png", dpi=100)
    return path


def _short_repr(schedule: Any) -> str:
    text = repr(schedule)
    if text.startswith("<function"):  # a closure (optax's schedules, gdx's optax-compatible ones)
        return getattr(schedule, "__qualname__", text)
    return text if len(text) <= 100 else text[:97] + "..."
