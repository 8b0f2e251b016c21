"""Annealed Gaussian gradient noise (`add_noise`)."""

import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx._common.moments import safe_increment, zero_count
from gdx.core import GradientTransformation, GradientTransformationExtraArgs


class AddNoiseState(NamedTuple):
    """State of `add_noise`: the int32 step count (for the annealing) and the PRNG key."""

    count: jax.Array
    rng_key: jax.Array


def _canonical_key(key_or_seed: Any) -> jax.Array:
    # As optax: a typed key is used as it is; anything else is a seed for `jax.random.key`.
    if isinstance(key_or_seed, jax.Array) and jnp.issubdtype(key_or_seed.dtype, jax.dtypes.prng_key):
        return key_or_seed
    return jax.random.key(key_or_seed)


def add_noise(
    eta: jax.typing.ArrayLike,
    gamma: jax.typing.ArrayLike,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> GradientTransformation:
    """Adds Gaussian noise whose variance decays with the step count.

    Update rule (`t` counts from 1)::

        sigma = sqrt(eta / t**gamma)
        key, sample_key = split(key)
        u <- u + sigma * normal(sample_key), one independent draw per leaf

    The random numbers are drawn exactly as optax draws them (the same key
    splits, one key per leaf in tree order), so the same `key` gives optax's noise.

    Args:
      eta: the initial variance of the noise, >= 0.
      gamma: the decay exponent of the variance, >= 0 (0.55 in the paper).
      key: a `jax.random.key` or an int seed. Default `None` means seed 0 (optax
        warns and does the same).
      seed: deprecated alias of `key` (kept for optax compatibility; warns).

    Returns:
      A `GradientTransformation` with state `AddNoiseState(count, rng_key)`.

    References:
      Neelakantan et al., Adding Gradient Noise Improves Learning for Very Deep Networks, 2015.
    """
    who = "add_noise"
    checks.non_negative(who, "eta", eta)
    checks.non_negative(who, "gamma", gamma)
    if seed is not None:
        warnings.warn('add_noise: "seed" is deprecated, use "key"', DeprecationWarning, stacklevel=2)
        if key is not None:
            raise ValueError(f"{who}: give only one of seed and key, got seed={seed!r} and key={key!r}")
        key = seed
    if key is None:
        key = 0

    def init(params):
        del params
        return AddNoiseState(count=zero_count(), rng_key=_canonical_key(key))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        count_inc = safe_increment(state.count)
        # optax computes `count_inc**gamma` with standard promotion: int32 -> float32.
        standard_deviation = jnp.sqrt(promoted(jnp.divide, eta, promoted(jnp.power, count_inc, gamma)))
        rng_key, sample_key = jax.random.split(state.rng_key)
        leaves, treedef = jax.tree.flatten(updates)
        leaf_keys = jax.random.split(sample_key, treedef.num_leaves)
        noisy = [
            promoted(
                jnp.add, g, promoted(jnp.multiply, standard_deviation, jax.random.normal(k, g.shape, g.dtype))
            ).astype(g.dtype)
            for g, k in zip(leaves, leaf_keys)
        ]
        return treedef.unflatten(noisy), AddNoiseState(count=count_inc, rng_key=rng_key)

    return GradientTransformationExtraArgs(init, update)
