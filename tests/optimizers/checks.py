"""Helpers shared by the optimizer behaviour tests: a named optimizer by name, toy params and
grads, and the contract's ill-conditioned quadratic with its train step."""

from typing import Any

import jax
import jax.numpy as jnp

import gdx


def make(name: str, learning_rate: Any = 1e-2, **kwargs) -> gdx.GradientTransformation:
    return getattr(gdx, name)(learning_rate, **kwargs)


def params_f32():
    return {"a": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "b": jnp.array([0.5, -2.0])}


def grads_like(params, seed=0):
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(
        treedef, [jax.random.normal(k, x.shape, jnp.float32).astype(x.dtype) for k, x in zip(keys, leaves)]
    )


# The Adam and RMS families (optimizers/adaptive): the hyperparameters besides the learning rate
# that each one validates and takes as an array (test_generic.py, test_adaptive.py).
ADAM_ARGS = ["b1", "b2", "eps", "eps_root"]
ADAPTIVE_HYPERPARAMETERS = {
    "adam": ADAM_ARGS,
    "nadam": ADAM_ARGS,
    "amsgrad": ADAM_ARGS,
    "adamw": [*ADAM_ARGS, "weight_decay"],
    "nadamw": [*ADAM_ARGS, "weight_decay"],
    "adamax": ["b1", "b2", "eps"],
    "adamaxw": ["b1", "b2", "eps", "weight_decay"],
    "adagrad": ["initial_accumulator_value", "eps"],
    "rmsprop": ["decay", "eps", "initial_scale", "momentum"],
}


# --- the contract: convergence, jit, dtypes ----------------------------------------------------

CURVATURE = {"w": jnp.array([1.0, 10.0, 100.0]), "b": jnp.array(3.0)}


def quadratic_loss(params):
    return sum(0.5 * jnp.sum(CURVATURE[k] * params[k] ** 2) for k in params)


def quadratic_params():
    return {"w": jnp.array([1.0, -2.0, 0.5], jnp.float32), "b": jnp.array(0.3, jnp.float32)}


def train_step(tx):
    def step(params, state):
        updates, state = tx.update(jax.grad(quadratic_loss)(params), state, params)
        return gdx.apply_updates(params, updates), state

    return step


def run_steps(tx, params, steps=3, **extra_args):
    state = tx.init(params)
    for step in range(steps):
        updates, state = tx.update(grads_like(params, step), state, params, **extra_args)
        params = gdx.apply_updates(params, updates)
    return params, state
