"""`python -m gdx compare`: several named optimizers, gdx vs optax, on a plain-JAX digits MLP.

Each optimizer trains the same 64-32-10 tanh MLP (params as a nested dict of
arrays, no framework) from the same init on the same mini-batches, once as
`gdx.<name>(...)` and once as `optax.<name>(...)`.
"""

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gdx
from gdx.demo import data

# Hyperparameters per optimizer, shared by the gdx and the optax run. Learning
# rates are tuned for this MLP so every optimizer gets somewhere in a few
# hundred steps; everything else is the library default.
COMPARE_OPTIMIZERS: dict[str, dict[str, Any]] = {
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
DEFAULT_COMPARE_OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "lion", "lamb")
HIDDEN_UNITS = 32

MLPParams = dict[str, dict[str, jax.Array]]
"""`{"dense_0": {"w": ..., "b": ...}, ...}`."""


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
        x = jnp.tanh(_affine(layer, x))
    return _affine(layers[-1], x)


def _affine(layer: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """`x @ w + b`, the bias broadcast explicitly over the batch axes."""
    y = x @ layer["w"]
    return y + jnp.broadcast_to(layer["b"], y.shape)


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


def run_comparison(
    steps: int = 300,
    seed: int = 0,
    *,
    batch_size: int = 128,
    optimizers: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Trains the MLP with each optimizer in gdx and in optax, from the same init and batches.

    Args:
      steps: optimizer steps per run (>= 1).
      seed: seeds the initial params and the mini-batch order.
      batch_size: examples per step; 0 (or more than the train set) means full batch.
      optimizers: names from `COMPARE_OPTIMIZERS`; default `DEFAULT_COMPARE_OPTIMIZERS`.
        Names missing from the installed gdx or optax are skipped with a message.

    Returns:
      One dict per optimizer with keys `optimizer`, `gdx_loss`, `optax_loss`
      (final full-train-set loss), `gdx_test_accuracy`, `optax_test_accuracy`
      and `max_param_difference` (max |gdx param - optax param| after training).
    """
    if steps < 1:
        raise ValueError(f"run_comparison: steps must be >= 1, got {steps}")
    if batch_size < 0:
        raise ValueError(f"run_comparison: batch_size must be >= 0, got {batch_size}")
    names = list(DEFAULT_COMPARE_OPTIMIZERS if optimizers is None else optimizers)
    unknown = [name for name in names if name not in COMPARE_OPTIMIZERS]
    if unknown:
        raise ValueError(
            f"run_comparison: unknown optimizers {unknown}; choose from {sorted(COMPARE_OPTIMIZERS)}"
        )
    x_train, y_train, x_test, y_test = data.load_digits_split()
    batch_indices = data.batch_indices(x_train.shape[0], batch_size, steps, seed)
    x_train, y_train, x_test, y_test = map(jnp.asarray, (x_train, y_train, x_test, y_test))
    initial_params = init_mlp(seed)
    evaluate_loss = jax.jit(cross_entropy_loss)
    evaluate_accuracy = jax.jit(accuracy)
    evaluate_difference = jax.jit(max_abs_difference)

    rows = []
    for name in names:
        if not (hasattr(gdx, name) and hasattr(optax, name)):
            print(f"gdx compare: skipping {name}: not available in this gdx/optax", file=sys.stderr)
            continue
        hyperparameters = COMPARE_OPTIMIZERS[name]
        gdx_params = train(
            getattr(gdx, name)(**hyperparameters),
            gdx.apply_updates,
            initial_params,
            x_train,
            y_train,
            batch_indices,
        )
        # optax is not written for strict dtype promotion; give it numpy-style promotion.
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


COMPARE_COLUMNS = (
    ("optimizer", "optimizer", "{}"),
    ("gdx_loss", "gdx final loss", "{:.4f}"),
    ("optax_loss", "optax final loss", "{:.4f}"),
    ("gdx_test_accuracy", "gdx test acc", "{:.1%}"),
    ("optax_test_accuracy", "optax test acc", "{:.1%}"),
    ("max_param_difference", "max |param diff|", "{:.1e}"),
)


def table_cells(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """`(headers, formatted rows)` of the comparison table."""
    headers = [header for _, header, _ in COMPARE_COLUMNS]
    return headers, [[fmt.format(row[key]) for key, _, fmt in COMPARE_COLUMNS] for row in rows]
