"""`python -m gdx <command>` (also installed as the `gdx` script): the command-line entry point.

Commands:
  demo     train a Flax NNX MLP on scikit-learn's digits with gdx and with optax
           (clip_by_global_norm + adamw + warmup cosine schedule), show a progress
           bar, print a comparison table and write loss / learning-rate plots.
  compare  train a small MLP with several named optimizers, each in gdx and in
           optax, and print final losses, accuracies and parameter differences.
  lr-find  the learning-rate range test (or many LRs in parallel under vmap) on
           the digits MLP of `compare`: a table, a suggestion and lr_find.png.

The commands need the `demo` extra (flax, optax, scikit-learn, matplotlib, rich):
`pip install "gdx[demo]"`. They live in `gdx.demo` and are imported only when a
command runs, so a missing package is reported as a one-line install hint.
"""

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import gdx

DEFAULT_OUTPUT_DIR = Path("demo_output")
# Names of `gdx.demo.compare.COMPARE_OPTIMIZERS`, repeated here so that `--help`
# and argument errors do not need the demo's dependencies.
COMPARE_CHOICES = (
    "sgd",
    "adam",
    "adamw",
    "nadam",
    "adamax",
    "amsgrad",
    "adagrad",
    "rmsprop",
    "lion",
    "lamb",
    "lars",
)
DEFAULT_COMPARE = ("sgd", "adam", "adamw", "rmsprop", "lion", "lamb")


class MissingDependencyError(ImportError):
    """A package of the `demo` extra is not installed; the message says how to install it."""


def import_demo_module(name: str) -> ModuleType:
    """Imports `gdx.demo.<name>`, turning a missing third-party package into `MissingDependencyError`."""
    try:
        return importlib.import_module(f"gdx.demo.{name}")
    except ModuleNotFoundError as error:
        package = (error.name or "").split(".")[0]
        if package in ("", "gdx"):
            raise
        raise MissingDependencyError(
            f"this command needs the '{package}' package, which is not installed: "
            f'pip install "gdx[demo]" (or pip install {package})'
        ) from error


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _at_least_two(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2, got {value}")
    return value


def _at_least_four(text: str) -> int:
    value = int(text)
    if value < 4:
        raise argparse.ArgumentTypeError(f"must be >= 4, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _layer_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive ints like 128,128, got {text!r}")
    return sizes


def _optimizer_list(text: str) -> list[str]:
    if text == "all":
        return list(COMPARE_CHOICES)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in COMPARE_CHOICES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown optimizers {unknown}; choose from {', '.join(COMPARE_CHOICES)} or 'all'"
        )
    return names


def _command_demo(args: argparse.Namespace) -> int:
    digits = import_demo_module("digits")
    console = import_demo_module("console")
    plots = None if args.no_plots else import_demo_module("plots")
    config = digits.DigitsConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        hidden_sizes=args.hidden_sizes,
        peak_learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        seed=args.seed,
    )
    print(f"gdx {gdx.__version__} demo: {config.describe()}")
    result = digits.run_digits(config, progress=None if args.no_progress else console.progress_bars())
    console.print_table(
        "gdx vs optax: the same Flax model, init, batches and optimizer",
        console.COMPARISON_HEADERS,
        console.comparison_rows(result),
    )
    if plots is not None:
        try:
            paths = plots.write_plots(result, args.output_dir)
        except OSError as error:
            print(f"error: cannot write the plots to {args.output_dir}/: {error}", file=sys.stderr)
            return 1
        print("plots: " + ", ".join(str(path) for path in paths))
    return 0


def _command_compare(args: argparse.Namespace) -> int:
    compare = import_demo_module("compare")
    console = import_demo_module("console")
    rows = compare.run_comparison(
        args.steps, args.seed, batch_size=args.batch_size, optimizers=args.optimizers
    )
    batches = "full batch" if args.batch_size == 0 else f"batch size {args.batch_size}"
    title = (
        f"digits MLP (64-{compare.HIDDEN_UNITS}-10, tanh), {args.steps} steps, {batches}, seed {args.seed}: "
        "gdx vs optax, same init and batches"
    )
    console.print_table(title, *compare.table_cells(rows))
    return 0


def _command_lr_find(args: argparse.Namespace) -> int:
    finder = import_demo_module("lr_find")
    console = import_demo_module("console")
    result = finder.run_lr_find(
        args.optimizer,
        mode=args.mode,
        steps=args.steps,
        batch_size=args.batch_size,
        num_lrs=args.num_lrs,
        min_lr=args.min_lr,
        max_lr=args.max_lr,
        seed=args.seed,
    )
    title = (
        f"lr-find ({args.mode}, {args.optimizer}) on the digits MLP, {args.steps} steps, "
        f"learning rates {args.min_lr:g} to {args.max_lr:g}"
    )
    console.print_table(title, *finder.table_cells(result))
    print(f"suggested learning rate: {result.suggestion:.3g}")
    if not args.no_plots:
        try:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            path = result.plot(args.output_dir / "lr_find.png")
        except OSError as error:
            print(f"error: cannot write the plot to {args.output_dir}/: {error}", file=sys.stderr)
            return 1
        print(f"plot: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `python -m gdx` argument parser with its `demo` and `compare` subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m gdx", description="gdx: optax-compatible optimizers for JAX."
    )
    parser.add_argument("--version", action="version", version=f"gdx {gdx.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train a Flax MLP on sklearn digits with gdx and with optax; table and plots",
        description="Train a Flax NNX MLP on scikit-learn's digits with "
        "chain(clip_by_global_norm(1.0), adamw(warmup_cosine_decay_schedule(...))), once with gdx "
        "and once with optax from the same init and batches. Shows a progress bar, prints a table "
        "comparing the two runs and writes loss_curves.png and learning_rate.png.",
    )
    demo.add_argument("--steps", type=_at_least_two, default=800, help="optimizer steps (default 800)")
    demo.add_argument(
        "--batch-size",
        type=_non_negative_int,
        default=128,
        help="examples per step; 0 = full batch (default 128)",
    )
    demo.add_argument("--seed", type=int, default=0, help="init and batch-order seed (default 0)")
    demo.add_argument(
        "--hidden-sizes", type=_layer_sizes, default=(128, 128), help="hidden layer widths (default 128,128)"
    )
    demo.add_argument(
        "--learning-rate", type=_positive_float, default=1e-2, help="peak learning rate (default 0.01)"
    )
    demo.add_argument(
        "--weight-decay", type=_non_negative_float, default=0.1, help="adamw weight decay (default 0.1)"
    )
    demo.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        help=f"folder for the PNG plots, created if missing (default {DEFAULT_OUTPUT_DIR}/)",
    )
    demo.add_argument("--no-plots", action="store_true", help="do not write plots")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(handler=_command_demo)

    compare = commands.add_parser(
        "compare",
        help="several optimizers, each in gdx and in optax, on a small digits MLP",
        description="Train a 64-32-10 tanh MLP (plain JAX) on scikit-learn's digits with several "
        "optimizers, once with gdx and once with optax from the same init and batches, and print "
        "final losses, test accuracies and the largest parameter difference.",
    )
    compare.add_argument("--steps", type=_positive_int, default=300, help="optimizer steps (default 300)")
    compare.add_argument("--seed", type=int, default=0, help="init and batch-order seed (default 0)")
    compare.add_argument(
        "--batch-size",
        type=_non_negative_int,
        default=128,
        help="examples per step; 0 = full batch (default 128)",
    )
    compare.add_argument(
        "--optimizers",
        type=_optimizer_list,
        default=list(DEFAULT_COMPARE),
        help=f"comma-separated names or 'all' (default {','.join(DEFAULT_COMPARE)})",
    )
    compare.set_defaults(handler=_command_compare)

    finder = commands.add_parser(
        "lr-find",
        help="learning-rate finder on the digits MLP: table, suggestion, lr_find.png",
        description="Run gdx.diagnostics.lr_find on the 64-32-10 tanh MLP of `compare`: the range "
        "test (one run, exponentially growing learning rate) or, with --mode parallel, many constant "
        "learning rates trained at once under jax.vmap. Prints the loss per learning rate and a "
        "suggestion, and writes lr_find.png.",
    )
    finder.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default="adam", help="default adam")
    finder.add_argument(
        "--mode", choices=("range_test", "parallel"), default="range_test", help="default range_test"
    )
    finder.add_argument("--steps", type=_at_least_four, default=100, help="steps per run (default 100)")
    finder.add_argument(
        "--batch-size",
        type=_non_negative_int,
        default=128,
        help="examples per step; 0 = full batch (default 128)",
    )
    finder.add_argument("--num-lrs", type=_at_least_two, default=12, help="LRs in parallel mode (default 12)")
    finder.add_argument("--min-lr", type=_positive_float, default=1e-5, help="smallest LR (default 1e-5)")
    finder.add_argument("--max-lr", type=_positive_float, default=10.0, help="largest LR (default 10)")
    finder.add_argument("--seed", type=int, default=0, help="init and batch-order seed (default 0)")
    finder.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        help=f"folder for lr_find.png, created if missing (default {DEFAULT_OUTPUT_DIR}/)",
    )
    finder.add_argument("--no-plots", action="store_true", help="do not write the plot")
    finder.set_defaults(handler=_command_lr_find)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parses `argv` (default `sys.argv[1:]`), runs the command, returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    output_dir = getattr(args, "output_dir", None)
    if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
        parser.error(f"--output-dir {output_dir} exists and is not a folder")
    if args.command == "lr-find" and args.min_lr >= args.max_lr:
        parser.error(f"--min-lr {args.min_lr:g} must be below --max-lr {args.max_lr:g}")
    try:
        return args.handler(args)
    except MissingDependencyError as error:
        parser.exit(1, f"error: {error}\n")
