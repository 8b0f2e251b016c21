"""Terminal output of `python -m gdx`: progress bars and tables.

rich draws them when it is installed (it is in the `demo` extra); without it
they fall back to plain text.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gdx.demo.digits import DigitsComparison, StepReport


def _rich(module: str) -> Any:
    try:
        return importlib.import_module(f"rich.{module}")
    except ImportError:
        return None


def progress_bars() -> Callable[[str, int], contextlib.AbstractContextManager[StepReport]]:
    """`progress(label, total)` for `run_digits`: a rich progress bar showing loss, lr and grad norm.

    Without rich, prints a line every tenth of the run instead.
    """
    rich_progress = _rich("progress")
    if rich_progress is None:
        return _plain_progress

    @contextlib.contextmanager
    def progress(label: str, total: int) -> Iterator[StepReport]:
        columns = (
            rich_progress.TextColumn("[bold]{task.description:>5}"),
            rich_progress.BarColumn(),
            rich_progress.MofNCompleteColumn(),
            rich_progress.TextColumn("loss {task.fields[loss]:.4f}"),
            rich_progress.TextColumn("lr {task.fields[learning_rate]:.2e}"),
            rich_progress.TextColumn("grad norm {task.fields[gradient_norm]:7.3f}"),
            rich_progress.TimeElapsedColumn(),
        )
        with rich_progress.Progress(*columns) as bar:
            task = bar.add_task(label, total=total, loss=math.nan, learning_rate=0.0, gradient_norm=math.nan)

            def report(step: int, loss: float, learning_rate: float, gradient_norm: float) -> None:
                bar.update(
                    task, completed=step, loss=loss, learning_rate=learning_rate, gradient_norm=gradient_norm
                )

            yield report

    return progress


@contextlib.contextmanager
def _plain_progress(label: str, total: int) -> Iterator[StepReport]:
    every = max(1, total // 10)
    last_printed = [-1]  # in units of `every`

    def report(step: int, loss: float, learning_rate: float, gradient_norm: float) -> None:
        if step == total or step // every > last_printed[0]:
            last_printed[0] = step // every
            print(
                f"{label:>5} step {step:>5}/{total}  loss {loss:.4f}  lr {learning_rate:.2e}  "
                f"grad norm {gradient_norm:.3f}",
                flush=True,
            )

    yield report


def comparison_rows(result: DigitsComparison) -> list[tuple[str, str, str, str]]:
    """`(metric, gdx, optax, gdx vs optax)` rows for the demo's table."""
    ours, theirs = result.gdx, result.optax
    agreeing = int(np.sum(ours.test_predictions == theirs.test_predictions))
    return [
        (
            "final train loss",
            f"{ours.train_loss:.3e}",
            f"{theirs.train_loss:.3e}",
            f"diff {abs(ours.train_loss - theirs.train_loss):.1e}",
        ),
        (
            "test loss",
            f"{ours.test_loss:.4f}",
            f"{theirs.test_loss:.4f}",
            f"diff {abs(ours.test_loss - theirs.test_loss):.1e}",
        ),
        (
            "test accuracy",
            f"{ours.test_accuracy:.2%}",
            f"{theirs.test_accuracy:.2%}",
            f"{agreeing}/{ours.test_predictions.size} same predictions",
        ),
        (
            "time per step",
            f"{ours.seconds_per_step * 1e3:.2f} ms",
            f"{theirs.seconds_per_step * 1e3:.2f} ms",
            f"{ours.seconds_per_step / theirs.seconds_per_step:.2f}x",
        ),
        (
            "first step (compile)",
            f"{ours.compile_seconds:.2f} s",
            f"{theirs.compile_seconds:.2f} s",
            f"{ours.compile_seconds / theirs.compile_seconds:.2f}x",
        ),
        (
            "params after training",
            f"{result.num_params:,}",
            f"{result.num_params:,}",
            f"max |diff| {result.max_param_difference:.1e}",
        ),
    ]


COMPARISON_HEADERS = ("", "gdx", "optax", "gdx vs optax")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: a header line, a rule, one line per row; the first column left-aligned."""
    cells = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(line[column]) for line in cells) for column in range(len(headers))]

    def render(line):
        first, *rest = line
        return " | ".join([first.ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(rest, widths[1:]))])

    return "\n".join([render(cells[0]), "-+-".join("-" * width for width in widths), *map(render, cells[1:])])


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Prints a table with rich if it is installed, else as plain text."""
    rich_console, rich_table = _rich("console"), _rich("table")
    if rich_console is None or rich_table is None:
        print(title)
        print(format_table(headers, rows))
        return
    table = rich_table.Table(title=title, title_justify="left")
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    rich_console.Console().print(table)
