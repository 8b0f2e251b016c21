"""`python -m gdx <command>`: the command-line entry points.

Commands:
  demo   train a small MLP on scikit-learn's digits with gdx and with optax,
         side by side, and print a table comparing the two.

The demo needs the `demo` extra (optax, scikit-learn; rich for a nicer table):
`pip install "gdx[demo]"`. Those packages are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import gdx

# Hyperparameters per optimizer, shared by the gdx and the optax run. Learning
# rates are tuned for the demo's MLP so every optimizer gets somewhere in a few
# hundred steps; everything else is the library default.
DEMO_OPTIMIZERS: dict[str, dict[str, Any]] = {
    "sgd": {"learning_rate": 0.05, "momentum": 0.9},
    "adam": {"learning_rate": 3e-3},
    "adamw": {"learning_rate": 3e-3, "weight_decay": 1e-4},
    "nadam": {"learning_rate": 3e-3},
    "adamax": {"learning_rate": 3e-3},
    "amsgrad": {"learning_rate": 3e-3},
    "adagrad": {"learning_rate": 0.05},
    "rmsprop": {"learning_rate": 1e-3},
    "lion": {"learning_rate": 1e-3},
    "lamb": {"learning_rate": 1e-2},
    "lars": {"learning_rate": 5.0},
}
DEFAULT_DEMO_OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "lion", "lamb")
HIDDEN_UNITS = 32

MLPParams = dict[str, dict[str, jax.Array]]
"""`{"dense_0": {"w": ..., "b": ...}, ...}`."""


def _require(module: str, extra: str) -> ModuleType:
    """Imports `module`, or fails with the pip command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"this gdx command needs the '{module.split('.')[0]}' package, which is not installed: "
            f'pip install "gdx[{extra}]"'
        ) from error


def load_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits: a fixed stratified 75/25 split, standardized on the train set.

    Returns:
      `(x_train, y_train, x_test, y_test)`: float32 features of shape `(n, 64)`,
      int32 labels in `0..9`.
    """
    datasets = _require("sklearn.datasets", "demo")
    model_selection = _require("sklearn.model_selection", "demo")
    digits = datasets.load_digits()
    x_train, x_test, y_train, y_test = model_selection.train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0  # border pixels that are always blank
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return (
        x_train.astype(np.float32),
        y_train.astype(np.int32),
        x_test.astype(np.float32),
        y_test.astype(np.int32),
    )


def init_mlp(seed: int, sizes: Sequence[int] = (64, HIDDEN_UNITS, 10)) -> dict[str, dict[str, np.ndarray]]:
    """A dense tanh MLP as NumPy float32 arrays: weights ~ N(0, 1/fan_in), zero biases.

    NumPy, so that every run starts from fresh device buffers (they are donated)
    without compiling anything.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weight = rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
        params[f"dense_{index}"] = {"w": weight.astype(np.float32), "b": np.zeros((fan_out,), np.float32)}
    return params


def mlp_logits(params: MLPParams, x: jax.Array) -> jax.Array:
    """Logits of the MLP: tanh hidden layers, a linear output layer."""
    layers = [params[name] for name in sorted(params)]
    for layer in layers[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ layers[-1]["w"] + layers[-1]["b"]


def cross_entropy_loss(params: MLPParams, x: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of the MLP on integer labels."""
    log_probabilities = jax.nn.log_softmax(mlp_logits(params, x))
    return -jnp.mean(jnp.take_along_axis(log_probabilities, labels[:, None], axis=1))


def accuracy(params: MLPParams, x: jax.Array, labels: jax.Array) -> jax.Array:
    """Fraction of examples whose largest logit is the label."""
    return jnp.mean((jnp.argmax(mlp_logits(params, x), axis=1) == labels).astype(jnp.float32))


def max_abs_difference(tree_a: Any, tree_b: Any) -> jax.Array:
    """`max |a - b|` over all leaves of two trees of the same structure."""
    leaf_maxima = jax.tree.map(lambda a, b: jnp.max(jnp.abs(a - b)), tree_a, tree_b)
    return jnp.max(jnp.stack(jax.tree.leaves(leaf_maxima)))


def train(
    tx: Any,
    apply_updates: Callable[[Any, Any], Any],
    initial_params: Any,
    x_train: jax.Array,
    y_train: jax.Array,
    batch_indices: np.ndarray,
) -> Any:
    """Runs one jitted optimizer step per row of `batch_indices`; returns the final params.

    `tx` is any `(init, update)` pair (gdx or optax). Params and optimizer
    state are donated to the step, so they are updated in place.
    """

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(params, opt_state, indices):
        grads = jax.grad(cross_entropy_loss)(params, x_train[indices], y_train[indices])
        updates, opt_state = tx.update(grads, opt_state, params)
        return apply_updates(params, updates), opt_state

    params = jax.tree.map(jnp.asarray, initial_params)  # fresh buffers: the step donates them
    opt_state = jax.jit(tx.init)(params)
    for indices in batch_indices:
        params, opt_state = step(params, opt_state, indices)
    return params


def run_demo(
    steps: int = 300,
    seed: int = 0,
    *,
    batch_size: int = 128,
    optimizers: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Trains the digits MLP with each optimizer in gdx and in optax, from the same init and batches.

    Args:
      steps: optimizer steps per run (>= 1).
      seed: seeds the initial params and the mini-batch order.
      batch_size: examples per step; 0 (or more than the train set) means full batch.
      optimizers: names from `DEMO_OPTIMIZERS`; default `DEFAULT_DEMO_OPTIMIZERS`.
        Names missing from the installed gdx or optax are skipped.

    Returns:
      One dict per optimizer with keys `optimizer`, `gdx_loss`, `optax_loss`
      (final full-train-set loss), `gdx_test_accuracy`, `optax_test_accuracy`
      and `max_param_difference` (max |gdx param - optax param| after training).
    """
    if steps < 1:
        raise ValueError(f"run_demo: steps must be >= 1, got {steps}")
    if batch_size < 0:
        raise ValueError(f"run_demo: batch_size must be >= 0, got {batch_size}")
    names = list(DEFAULT_DEMO_OPTIMIZERS if optimizers is None else optimizers)
    unknown = [name for name in names if name not in DEMO_OPTIMIZERS]
    if unknown:
        raise ValueError(f"run_demo: unknown optimizers {unknown}; choose from {sorted(DEMO_OPTIMIZERS)}")
    optax = _require("optax", "demo")
    x_train, y_train, x_test, y_test = load_digits_split()

    n_train = x_train.shape[0]
    rng = np.random.default_rng([seed, 1])  # a stream of its own, apart from the init's
    if batch_size == 0 or batch_size >= n_train:
        batch_indices = np.broadcast_to(np.arange(n_train, dtype=np.int32), (steps, n_train))
    else:
        batches = [rng.permutation(n_train)[:batch_size] for _ in range(steps)]
        batch_indices = np.stack(batches).astype(np.int32)
    x_train, y_train, x_test, y_test = map(jnp.asarray, (x_train, y_train, x_test, y_test))
    initial_params = init_mlp(seed)
    evaluate_loss = jax.jit(cross_entropy_loss)
    evaluate_accuracy = jax.jit(accuracy)
    evaluate_difference = jax.jit(max_abs_difference)

    rows = []
    for name in names:
        if not (hasattr(gdx, name) and hasattr(optax, name)):
            print(f"gdx demo: skipping {name}: not available in this gdx/optax", file=sys.stderr)
            continue
        hyperparameters = DEMO_OPTIMIZERS[name]
        gdx_params = train(
            getattr(gdx, name)(**hyperparameters),
            gdx.apply_updates,
            initial_params,
            x_train,
            y_train,
            batch_indices,
        )
        # optax is not written for strict dtype promotion; give it the default.
        with jax.numpy_dtype_promotion("standard"):
            optax_params = train(
                getattr(optax, name)(**hyperparameters),
                optax.apply_updates,
                initial_params,
                x_train,
                y_train,
                batch_indices,
            )
        rows.append(
            {
                "optimizer": name,
                "gdx_loss": float(evaluate_loss(gdx_params, x_train, y_train)),
                "optax_loss": float(evaluate_loss(optax_params, x_train, y_train)),
                "gdx_test_accuracy": float(evaluate_accuracy(gdx_params, x_test, y_test)),
                "optax_test_accuracy": float(evaluate_accuracy(optax_params, x_test, y_test)),
                "max_param_difference": float(evaluate_difference(gdx_params, optax_params)),
            }
        )
    return rows


_COLUMNS = (
    ("optimizer", "optimizer", "{}"),
    ("gdx_loss", "gdx final loss", "{:.4f}"),
    ("optax_loss", "optax final loss", "{:.4f}"),
    ("gdx_test_accuracy", "gdx test acc", "{:.1%}"),
    ("optax_test_accuracy", "optax test acc", "{:.1%}"),
    ("max_param_difference", "max |param diff|", "{:.1e}"),
)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The demo results as a plain-text table."""
    cells = [[header for _, header, _ in _COLUMNS]]
    cells += [[fmt.format(row[key]) for key, _, fmt in _COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    lines = [" | ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in cells]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def _print_table(rows: Sequence[dict[str, Any]], title: str) -> None:
    try:
        rich_console = importlib.import_module("rich.console")
        rich_table = importlib.import_module("rich.table")
    except ImportError:
        print(title)
        print(format_table(rows))
        return
    table = rich_table.Table(title=title)
    for _, header, _ in _COLUMNS:
        table.add_column(header, justify="left" if header == "optimizer" else "right")
    for row in rows:
        table.add_row(*(fmt.format(row[key]) for key, _, fmt in _COLUMNS))
    rich_console.Console().print(table)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _optimizer_list(text: str) -> list[str]:
    if text == "all":
        return list(DEMO_OPTIMIZERS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in DEMO_OPTIMIZERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown optimizers {unknown}; choose from {', '.join(DEMO_OPTIMIZERS)} or 'all'"
        )
    return names


def _command_demo(args: argparse.Namespace) -> int:
    rows = run_demo(args.steps, args.seed, batch_size=args.batch_size, optimizers=args.optimizers)
    batches = "full batch" if args.batch_size == 0 else f"batch size {args.batch_size}"
    title = (
        f"digits MLP (64-{HIDDEN_UNITS}-10, tanh), {args.steps} steps, {batches}, seed {args.seed}: "
        "gdx vs optax, same init and batches"
    )
    _print_table(rows, title)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gdx", description="gdx: optax-compatible optimizers for JAX."
    )
    parser.add_argument("--version", action="version", version=f"gdx {gdx.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train a small MLP on sklearn digits with gdx and optax, compare",
        description="Train a 64-32-10 MLP on scikit-learn's digits with several optimizers, "
        "once with gdx and once with optax from the same init and batches, and print final "
        "losses, test accuracies and the largest parameter difference.",
    )
    demo.add_argument("--steps", type=_positive_int, default=300, help="optimizer steps (default 300)")
    demo.add_argument("--seed", type=int, default=0, help="init and batch-order seed (default 0)")
    demo.add_argument(
        "--batch-size",
        type=_non_negative_int,
        default=128,
        help="examples per step; 0 = full batch (default 128)",
    )
    demo.add_argument(
        "--optimizers",
        type=_optimizer_list,
        default=None,
        help=f"comma-separated names or 'all' (default {','.join(DEFAULT_DEMO_OPTIMIZERS)})",
    )
    demo.set_defaults(handler=_command_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parses `argv` (default `sys.argv[1:]`), runs the command, returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ImportError as error:
        parser.exit(1, f"error: {error}\n")
