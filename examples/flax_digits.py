"""A Flax NNX MLP on scikit-learn's digits with gdx, next to the same code with optax.

The optimizer is AdamW written out as a chain, so that weight decay can be
masked by parameter path: the weight matrices (`kernel`) are decayed, biases
and LayerNorm scales are not, the usual practice for transformers:

    gdx.chain(
        gdx.clip_by_global_norm(1.0),                          # tame the first steps
        gdx.scale_by_adam(),
        gdx.masked(gdx.add_decayed_weights(0.1), decay_mask),  # decay kernels only
        gdx.scale_by_learning_rate(warmup_cosine_schedule),
    )

(`gdx.adamw(schedule, weight_decay=0.1, mask=decay_mask)` builds the same
chain without the clipping.) `nnx.Optimizer(model, tx, wrt=nnx.Param)` takes it
as it would take an optax transformation. The same script with `optax.` in
place of `gdx.` starts from the same init, sees the same batches and ends with
the same numbers; both reach >= 97% test accuracy in 400 steps.

    python examples/flax_digits.py [--steps 400] [--output-dir DIR]

Writes `flax_digits.png`: both loss curves (log scale).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from matplotlib.figure import Figure
from sklearn import datasets, model_selection

import gdx

DEFAULT_OUTPUT_DIR = Path(__file__).resolve().parent / "output"


def load_digits() -> tuple[np.ndarray, ...]:
    """The 8x8 digits, a fixed stratified 75/25 split, standardized with the train statistics."""
    digits: Any = datasets.load_digits()
    split = model_selection.train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    x_train, x_test, y_train, y_test = (np.asarray(part) for part in split)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return (
        x_train.astype(np.float32),
        y_train.astype(np.int32),
        x_test.astype(np.float32),
        y_test.astype(np.int32),
    )


class MLP(nnx.Module):
    """64 -> 128 -> 128 -> 10; each hidden layer is Linear, LayerNorm, GELU."""

    def __init__(self, rngs: nnx.Rngs, hidden: int = 128):
        self.hidden = nnx.List([nnx.Linear(64, hidden, rngs=rngs), nnx.Linear(hidden, hidden, rngs=rngs)])
        self.norms = nnx.List([nnx.LayerNorm(hidden, rngs=rngs) for _ in range(2)])
        self.output = nnx.Linear(hidden, 10, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        for linear, norm in zip(self.hidden, self.norms):
            x = jax.nn.gelu(norm(linear(x)))
        return self.output(x)


def decay_mask(params: Any) -> Any:
    """True for the weight matrices (path ends in `kernel`), False for biases and LayerNorm scales.

    Called on the params (an `nnx.State`) in `init` and on the gradients in
    `update`; the key path of a leaf is e.g. `('hidden', 0, 'kernel')`.
    """

    def is_kernel(path, _):
        names = [entry.key for entry in path if isinstance(entry, jax.tree_util.DictKey)]
        return names[-1] == "kernel"

    return jax.tree_util.tree_map_with_path(is_kernel, params)


def make_optimizer(lib, steps: int):
    """AdamW with clipping, warmup + cosine and masked weight decay, from `lib` (gdx or optax)."""
    schedule = lib.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=1e-2, warmup_steps=steps // 10, decay_steps=steps, end_value=1e-4
    )
    return lib.chain(
        lib.clip_by_global_norm(1.0),
        lib.scale_by_adam(),
        lib.masked(lib.add_decayed_weights(0.1), decay_mask),
        lib.scale_by_learning_rate(schedule),
    )


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))


def train(lib, data, steps: int, batch_size: int = 128, seed: int = 0) -> dict[str, Any]:
    x_train, y_train, x_test, y_test = data
    model = MLP(nnx.Rngs(seed))
    optimizer = nnx.Optimizer(model, make_optimizer(lib, steps), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(lambda model: cross_entropy(model(x), y))(model)
        optimizer.update(model, grads)
        return loss

    rng = np.random.default_rng(seed)  # the same batches for gdx and optax
    order = np.empty(0, np.int64)
    losses = []
    for _ in range(steps):
        if order.size < batch_size:
            order = rng.permutation(len(x_train))
        batch, order = order[:batch_size], order[batch_size:]
        losses.append(train_step(model, optimizer, x_train[batch], y_train[batch]))
    predictions = jnp.argmax(model(x_test), axis=1)
    return {
        "losses": np.asarray(jnp.stack(losses)),
        "test_accuracy": float(jnp.mean((predictions == y_test).astype(jnp.float32))),
        "params": nnx.to_pure_dict(nnx.state(model, nnx.Param)),
        "decayed": decay_mask(nnx.to_pure_dict(nnx.state(model, nnx.Param))),
    }


def plot(runs: dict[str, dict[str, Any]], path: Path) -> None:
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    styles = {"gdx": ("#1f77b4", "-", 3.0), "optax": ("#d62728", "--", 1.2)}
    for name, run in runs.items():
        color, style, width = styles[name]
        axes.plot(
            np.arange(1, run["losses"].size + 1),
            run["losses"],
            color=color,
            linestyle=style,
            linewidth=width,
            label=f"{name}: test accuracy {run['test_accuracy']:.1%}",
        )
    axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("mini-batch cross-entropy (log scale)")
    axes.set_title("Flax NNX MLP on digits: AdamW with weight decay on kernels only")
    axes.legend(title="same init, same batches")
    axes.grid(True, which="both", alpha=0.3)
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=400, help="optimizer steps (default 400)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where the PNG goes")
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error(f"--steps must be >= 2, got {args.steps}")

    data = load_digits()
    runs = {"gdx": train(gdx, data, args.steps)}
    with jax.numpy_dtype_promotion("standard"):  # optax needs numpy-style promotion; gdx runs under any
        runs["optax"] = train(optax, data, args.steps)

    decayed = [
        jax.tree_util.keystr(path)
        for path, flag in jax.tree_util.tree_leaves_with_path(runs["gdx"]["decayed"])
        if flag
    ]
    print(f"weight decay applies to {len(decayed)} leaves: {', '.join(decayed)}")
    differences = jax.tree.map(
        lambda a, b: float(jnp.max(jnp.abs(a - b))), runs["gdx"]["params"], runs["optax"]["params"]
    )
    max_difference = max(jax.tree.leaves(differences))
    for name, run in runs.items():
        loss, accuracy = run["losses"][-1], run["test_accuracy"]
        print(f"{name:>5}: final mini-batch loss {loss:.2e}, test accuracy {accuracy:.2%}")
    print(f"max |param gdx - param optax| after {args.steps} steps: {max_difference:.1e}")

    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "flax_digits.png"
    plot(runs, path)
    print(f"wrote {path}")
    return {"runs": runs, "max_param_difference": max_difference, "decayed": decayed, "plot": path}


if __name__ == "__main__":
    main()
