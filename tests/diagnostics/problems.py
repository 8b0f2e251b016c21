"""Shared small problems: the unstandardized logistic regression of examples/learning_rate_effect.py."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import gdx

FEATURE_MEANS = (2.0, -1.0, 1.5, 0.5, 1.0)


@functools.cache
def logistic_data(num_examples: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """As `examples/learning_rate_effect.make_data`: features with means far from 0, noisy labels."""
    rng = np.random.default_rng(seed)
    centered = rng.standard_normal((num_examples, len(FEATURE_MEANS)))
    features = np.asarray(FEATURE_MEANS) + centered
    labels = centered @ np.array([1.0, -0.5, 0.3, -0.8, 0.6]) + 1.5 * rng.standard_normal(num_examples) > 0
    return features.astype(np.float32), labels.astype(np.float32)


def logistic_loss(params, features, labels):
    logits = features @ params["w"] + params["b"]
    return jnp.mean(jax.nn.softplus(logits) - labels * logits)


def logistic_params():
    return {"w": jnp.zeros(5, jnp.float32), "b": jnp.zeros((), jnp.float32)}


@functools.cache
def logistic_run(learning_rate: float, epochs: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch SGD under `gdx.diagnostics.monitor`; returns (loss per epoch, grad norm per epoch)."""
    features, labels = logistic_data()
    tx = gdx.diagnostics.monitor(gdx.sgd(learning_rate))

    @jax.jit
    def run(params):
        def step(carry, _):
            params, state = carry
            loss, grads = jax.value_and_grad(logistic_loss)(params, features, labels)
            updates, state = tx.update(grads, state, params)
            return (gdx.apply_updates(params, updates), state), (loss, state.metrics["grad_norm"])

        _, history = jax.lax.scan(step, (params, tx.init(params)), length=epochs)
        return history

    losses, grad_norms = run(logistic_params())
    return np.asarray(losses), np.asarray(grad_norms)
