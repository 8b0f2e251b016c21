"""`python -m gdx demo`: a Flax NNX MLP on scikit-learn's digits, trained with gdx and with optax.

Both runs start from the same initial params, see the same mini-batches and use
the same optimizer, written once with `gdx.` and once with `optax.`:

    chain(clip_by_global_norm(1.0), adamw(warmup_cosine_decay_schedule(...), weight_decay=0.1))

so any difference between them is a difference between the two libraries.
"""

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import gdx
from gdx.demo import data


@dataclasses.dataclass(frozen=True)
class DigitsConfig:
    """Settings of the digits run; the defaults reach 98% test accuracy (seed 0) in 800 steps."""

    steps: int = 800
    batch_size: int = 128
    hidden_sizes: tuple[int, ...] = (128, 128)
    peak_learning_rate: float = 1e-2
    warmup_fraction: float = 0.1
    end_learning_rate_fraction: float = 1e-2
    weight_decay: float = 0.1
    max_gradient_norm: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.steps < 2:
            raise ValueError(f"DigitsConfig: steps must be >= 2, got {self.steps}")
        if self.batch_size < 0:
            raise ValueError(f"DigitsConfig: batch_size must be >= 0 (0 = full batch), got {self.batch_size}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ValueError(f"DigitsConfig: hidden_sizes must be positive ints, got {self.hidden_sizes}")

    @property
    def warmup_steps(self) -> int:
        return max(1, round(self.warmup_fraction * self.steps))

    def describe(self) -> str:
        """One line naming the model, optimizer and schedule."""
        sizes = "-".join(str(size) for size in (64, *self.hidden_sizes, 10))
        batches = "full batch" if self.batch_size == 0 else f"batch {self.batch_size}"
        return (
            f"MLP {sizes} (GELU), {self.steps} steps, {batches}, seed {self.seed}: "
            f"clip_by_global_norm({self.max_gradient_norm:g}) + adamw(weight_decay={self.weight_decay:g}), "
            f"warmup {self.warmup_steps} steps to {self.peak_learning_rate:g}, cosine decay"
        )


class MLP(nnx.Module):
    """Dense layers with GELU between them, a linear output layer."""

    def __init__(self, sizes: Sequence[int], *, rngs: nnx.Rngs):
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = jax.nn.gelu(layer(x))
        return self.layers[-1](x)


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy on integer labels."""
    log_probabilities = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(log_probabilities, labels[:, None], axis=1))


def make_optimizer(library: ModuleType, config: DigitsConfig) -> tuple[Any, Callable[[Any], Any]]:
    """The demo's optimizer and learning-rate schedule, built from `library` (`gdx` or `optax`)."""
    schedule = library.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=config.peak_learning_rate,
        warmup_steps=config.warmup_steps,
        decay_steps=config.steps,
        end_value=config.peak_learning_rate * config.end_learning_rate_fraction,
    )
    optimizer = library.chain(
        library.clip_by_global_norm(config.max_gradient_norm),
        library.adamw(schedule, weight_decay=config.weight_decay),
    )
    return optimizer, schedule


@dataclasses.dataclass
class RunResult:
    """What one training run produced (per-step arrays have one entry per step)."""

    library: str
    losses: np.ndarray  # mini-batch loss before each step
    gradient_norms: np.ndarray  # global norm of the gradient before clipping
    learning_rates: np.ndarray  # the schedule's value at each step
    params: Any  # the trained params, a pure nested dict of arrays
    test_predictions: np.ndarray
    train_loss: float
    test_loss: float
    test_accuracy: float
    compile_seconds: float  # first step: tracing, compiling and running it
    seconds_per_step: float = math.nan  # set by `time_steps_interleaved`


StepReport = Callable[[int, float, float, float], None]
"""`report(step, loss, learning_rate, gradient_norm)`, called every few steps."""


@nnx.jit
def _train_step(model, optimizer, x_train, y_train, indices):
    def loss_fn(model):
        return cross_entropy(model(x_train[indices]), y_train[indices])

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss, gdx.global_norm(grads)


class Trainer:
    """The MLP, `nnx.Optimizer(model, make_optimizer(library, config), wrt=nnx.Param)` and its step.

    optax is not written for strict dtype promotion, so optax's steps run under
    numpy-style promotion; gdx's run under whatever the caller set.
    """

    def __init__(
        self,
        library: ModuleType,
        config: DigitsConfig,
        split: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ):
        self.library = library
        self.config = config
        self.x_train, self.y_train, self.x_test, self.y_test = (jnp.asarray(array) for array in split)
        with self.promotion():
            self.tx, self.schedule = make_optimizer(library, config)
            self.model = MLP((self.x_train.shape[1], *config.hidden_sizes, 10), rngs=nnx.Rngs(config.seed))
            self.optimizer = nnx.Optimizer(self.model, self.tx, wrt=nnx.Param)

    def promotion(self) -> contextlib.AbstractContextManager[Any]:
        if self.library is optax:
            return jax.numpy_dtype_promotion("standard")
        return contextlib.nullcontext()

    def step(self, indices: np.ndarray) -> tuple[jax.Array, jax.Array]:
        """One optimizer step on the examples `indices`; returns `(loss, gradient norm)`, not waited for."""
        with self.promotion():
            return _train_step(self.model, self.optimizer, self.x_train, self.y_train, indices)

    def train(
        self, batches: np.ndarray, *, report: StepReport | None = None, report_every: int = 20
    ) -> RunResult:
        """One step per row of `batches` (int32 indices into the train set), then evaluation.

        `report` is called with the latest metrics every `report_every` steps and at the end.
        """
        steps = batches.shape[0]
        with self.promotion():
            learning_rates = np.asarray(jax.jit(jax.vmap(self.schedule))(jnp.arange(steps)))
        losses, gradient_norms = [], []
        start = time.perf_counter()
        compile_seconds = math.nan
        for step in range(steps):
            loss, gradient_norm = self.step(batches[step])
            losses.append(loss)
            gradient_norms.append(gradient_norm)
            if step == 0 or (step + 1) % report_every == 0 or step == steps - 1:
                loss_value = float(loss)  # waits for the step to finish
                if step == 0:
                    compile_seconds = time.perf_counter() - start
                if report is not None:
                    report(step + 1, loss_value, float(learning_rates[step]), float(gradient_norm))

        with self.promotion():
            logits_test = self.model(self.x_test)
            predictions = jnp.argmax(logits_test, axis=1)
            return RunResult(
                library=self.library.__name__,
                losses=np.asarray(jnp.stack(losses)),
                gradient_norms=np.asarray(jnp.stack(gradient_norms)),
                learning_rates=learning_rates,
                params=nnx.to_pure_dict(nnx.state(self.model, nnx.Param)),
                test_predictions=np.asarray(predictions),
                train_loss=float(cross_entropy(self.model(self.x_train), self.y_train)),
                test_loss=float(cross_entropy(logits_test, self.y_test)),
                test_accuracy=float(jnp.mean((predictions == self.y_test).astype(jnp.float32))),
                compile_seconds=compile_seconds,
            )


def time_steps_interleaved(
    trainers: Sequence[Trainer], indices: np.ndarray, *, rounds: int = 7, steps_per_round: int = 20
) -> list[float]:
    """Seconds per step of each trainer: the fastest of `rounds` alternating rounds.

    Alternating rounds in one process, and the best round of each (noise only
    ever adds time), keep the ratio fair on a shared, noisy machine, where
    timing one run after the other would not. The steps continue training the
    models; take results before timing.
    """
    samples: list[list[float]] = [[] for _ in trainers]
    for _ in range(rounds):
        for trainer, trainer_samples in zip(trainers, samples):
            start = time.perf_counter()
            for _ in range(steps_per_round):
                loss, _ = trainer.step(indices)
            jax.block_until_ready(loss)
            trainer_samples.append((time.perf_counter() - start) / steps_per_round)
    return [min(trainer_samples) for trainer_samples in samples]


@dataclasses.dataclass
class DigitsComparison:
    """The gdx run, the optax run, and how far apart their params ended."""

    config: DigitsConfig
    gdx: RunResult
    optax: RunResult
    max_param_difference: float
    num_params: int


def max_abs_difference(tree_a: Any, tree_b: Any) -> float:
    """`max |a - b|` over all leaves of two trees of the same structure."""
    differences = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), tree_a, tree_b)
    return max(jax.tree.leaves(differences))


def run_digits(
    config: DigitsConfig = DigitsConfig(),
    *,
    progress: Callable[[str, int], contextlib.AbstractContextManager[StepReport]] | None = None,
) -> DigitsComparison:
    """Trains the digits MLP with gdx, then with optax, from the same init and batches; times both.

    Step times are measured afterwards in alternating rounds (`time_steps_interleaved`).

    Args:
      config: the run's settings.
      progress: `progress(label, total_steps)` returns a context manager that
        yields a `StepReport` (e.g. a progress bar); None trains silently.

    Returns:
      A `DigitsComparison`.
    """
    split = data.load_digits_split()
    batches = data.batch_indices(split[0].shape[0], config.batch_size, config.steps, config.seed)
    trainers = [Trainer(library, config, split) for library in (gdx, optax)]
    runs = {}
    for trainer in trainers:
        name = trainer.library.__name__
        report_context = contextlib.nullcontext(None) if progress is None else progress(name, config.steps)
        with report_context as report:
            runs[name] = trainer.train(batches, report=report)
    for trainer, seconds in zip(trainers, time_steps_interleaved(trainers, batches[-1])):
        runs[trainer.library.__name__].seconds_per_step = seconds
    return DigitsComparison(
        config=config,
        gdx=runs["gdx"],
        optax=runs["optax"],
        max_param_difference=max_abs_difference(runs["gdx"].params, runs["optax"].params),
        num_params=sum(leaf.size for leaf in jax.tree.leaves(runs["gdx"].params)),
    )
