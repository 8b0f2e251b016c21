"""Shared helpers for the real-code ports.

Each port module writes the optimizer construction and the update calls of one
public training script ONCE, as `run(ox)` against a module parameter `ox`, then
runs it as `run(optax)` and `run(gdx)`. The two runs must end with the same
bits: every leaf of the final params (and of the optimizer state, paths
included) is compared with `np.testing.assert_array_equal`. `assert_trains`
guards against a vacuous pass (a run that never moves its loss).

The optax side runs under 'standard' dtype promotion (optax fails under the
suite's 'strict'); the gdx side runs under strict unless the port says why the
user code it reduces is not strict-safe.
"""

from collections.abc import Callable
from functools import cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gdx

# The numerics of a port must not depend on which test ran first: `gdx.contrib` is reachable
# after `import gdx.contrib` (or after any test imported it). Whether a plain `import gdx` reaches
# every namespace a port uses is tested once, in a fresh interpreter, by test_port_namespaces.py.
import gdx.contrib  # noqa: F401, E402


def assert_real_optax() -> None:
    """Fails if something in the session replaced optax's objects (e.g. a conformance shim)."""
    for name in ("adam", "sgd", "chain", "apply_updates"):
        module = getattr(getattr(optax, name), "__module__", "")
        assert module.startswith("optax"), (
            f"optax.{name} comes from {module!r}: the reference side of the port is not optax"
        )


def run_both(run: Callable[[Any], Any], *, gdx_promotion: str = "strict") -> tuple[Any, Any]:
    """`(run(optax), run(gdx))`: optax under standard promotion, gdx under `gdx_promotion`."""
    assert_real_optax()
    with jax.numpy_dtype_promotion("standard"):
        reference = run(optax)
    with jax.numpy_dtype_promotion(gdx_promotion):
        got = run(gdx)
    return reference, got


def _leaves(tree: Any) -> list[tuple[str, Any]]:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(path), leaf) for path, leaf in flat]


def assert_same_bits(got: Any, expected: Any, what: str, *, compare_paths: bool = True) -> None:
    """Every leaf of `got` equals `expected`'s bit for bit (dtype and shape included)."""
    got_leaves, expected_leaves = _leaves(got), _leaves(expected)
    if compare_paths:
        assert [p for p, _ in got_leaves] == [p for p, _ in expected_leaves], (
            f"{what}: tree layout differs from optax's\n"
            f"gdx:   {[p for p, _ in got_leaves]}\noptax: {[p for p, _ in expected_leaves]}"
        )
    else:
        assert len(got_leaves) == len(expected_leaves), (
            f"{what}: {len(got_leaves)} leaves, optax has {len(expected_leaves)}"
        )
    for (path, g), (_, e) in zip(got_leaves, expected_leaves):
        g, e = np.asarray(g), np.asarray(e)
        assert g.dtype == e.dtype, f"{what}{path}: dtype {g.dtype} != optax's {e.dtype}"
        np.testing.assert_array_equal(g, e, err_msg=f"{what}{path} differs from optax's")


def assert_trains(losses: Any, *, factor: float = 0.9) -> None:
    """The run moved: the last loss is below `factor` times the first (no vacuous pass)."""
    losses = np.asarray(losses, np.float64)
    assert np.all(np.isfinite(losses)), f"non-finite loss: {losses}"
    assert losses[-1] < factor * losses[0], f"loss did not decrease: {losses[0]} -> {losses[-1]}"


@cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # ships with sklearn: nothing is downloaded

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    return x, data.target.astype(np.int32)


def digits_batches(steps: int, batch_size: int = 64, *, seed: int = 0) -> list[tuple[jax.Array, jax.Array]]:
    """`steps` batches of sklearn's 8x8 digits (64 features in [0, 1], labels 0..9), fixed order."""
    x, y = _digits()
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(steps):
        idx = rng.choice(len(x), batch_size, replace=False)
        batches.append((jnp.asarray(x[idx]), jnp.asarray(y[idx])))
    return batches


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy with integer labels (plain jax, no optax.losses)."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


__all__ = [
    "assert_real_optax",
    "assert_same_bits",
    "assert_trains",
    "cross_entropy",
    "digits_batches",
    "gdx",
    "run_both",
]
