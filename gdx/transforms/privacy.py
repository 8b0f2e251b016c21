"""DP-SGD: per-example clipping plus Gaussian noise (`differentially_private_aggregate`).

The random numbers are drawn exactly as `optax.contrib` 0.2.8 draws them (the
same key splits, one key per leaf in tree order), so the same key gives
optax's noise bit for bit.
"""

import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx.core import GradientTransformation, GradientTransformationExtraArgs
from gdx.transforms.noise import _canonical_key
from gdx.transforms.per_example import _check_batch_axis, _clip_and_sum


class DifferentiallyPrivateAggregateState(NamedTuple):
    """State of `differentially_private_aggregate`: the PRNG key of the next step's noise."""

    rng_key: jax.Array


def validate_privacy(who: str, l2_norm_clip: Any, noise_multiplier: Any) -> None:
    """Checks `l2_norm_clip > 0` and `noise_multiplier >= 0`, naming `who` (shared with `dpsgd`)."""
    checks.positive(who, "l2_norm_clip", l2_norm_clip)
    checks.non_negative(who, "noise_multiplier", noise_multiplier)


def _noise_std(l2_norm_clip: Any, noise_multiplier: Any) -> Any:
    # Two Python numbers multiply in Python (double precision), as optax does.
    if type(l2_norm_clip) in (int, float) and type(noise_multiplier) in (int, float):
        return l2_norm_clip * noise_multiplier
    return promoted(jnp.multiply, l2_norm_clip, noise_multiplier)


def private_aggregate(who: str, l2_norm_clip: Any, noise_multiplier: Any, key: Any) -> GradientTransformation:
    """The transformation `differentially_private_aggregate` returns, its arguments already validated.

    `key` (a key or an int seed) is used as it is, and errors at `update` name `who`: the
    recipe `dpsgd` builds on it with its own `seed`.
    """
    noise_std = _noise_std(l2_norm_clip, noise_multiplier)

    def init(params):
        del params
        return DifferentiallyPrivateAggregateState(rng_key=_canonical_key(key))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        _check_batch_axis(who, updates)
        leaves, treedef = jax.tree.flatten(updates)
        batch_size = leaves[0].shape[0]
        clipped, _ = _clip_and_sum(leaves, l2_norm_clip)
        new_key, *leaf_keys = jax.random.split(state.rng_key, len(leaves) + 1)
        noised = [
            # The noise is drawn in the clipped sum's dtype (float32 for a bfloat16
            # leaf), as optax; the result is cast back to the grads' dtype.
            promoted(
                jnp.divide,
                promoted(
                    jnp.add, c, promoted(jnp.multiply, noise_std, jax.random.normal(k, c.shape, c.dtype))
                ),
                batch_size,
            ).astype(g.dtype)
            for c, k, g in zip(clipped, leaf_keys, leaves)
        ]
        return treedef.unflatten(noised), DifferentiallyPrivateAggregateState(rng_key=new_key)

    return GradientTransformationExtraArgs(init, update)


def differentially_private_aggregate(
    l2_norm_clip: jax.typing.ArrayLike,
    noise_multiplier: jax.typing.ArrayLike,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> GradientTransformation:
    """Clips per-example gradients, sums them, adds Gaussian noise and averages (DP-SGD's aggregation).

    Update rule (`B` examples; every leaf of the updates has a leading batch axis)::

        c_i  = min(1, l2_norm_clip / ||g_i||_2)        # global norm over all leaves of example i
        key, k_1..k_L = split(key, L + 1)              # one key per leaf, in tree order
        u    = (sum_i c_i * g_i + l2_norm_clip * noise_multiplier * normal(k_leaf)) / B

    Must come first in a chain (it removes the batch axis). Gradient
    accumulation wrappers (`MultiSteps`, `apply_every`) do not compose with it.

    Args:
      l2_norm_clip: the largest per-example gradient norm, > 0.
      noise_multiplier: noise standard deviation over `l2_norm_clip`, >= 0.
      key: a `jax.random.key` or an int seed. Default `None` means seed 0
        (optax warns and does the same).
      seed: deprecated alias of `key` (kept for optax compatibility; warns).

    Returns:
      A `GradientTransformation` with state `DifferentiallyPrivateAggregateState(rng_key)`.
      Updates have one example's shapes and the grads' dtypes.

    Reference: Abadi et al., "Deep Learning with Differential Privacy", CCS 2016
    (https://arxiv.org/abs/1607.00133).
    """
    who = "differentially_private_aggregate"
    validate_privacy(who, l2_norm_clip, noise_multiplier)
    if seed is not None:
        warnings.warn(f'{who}: "seed" is deprecated, use "key"', DeprecationWarning, stacklevel=2)
        if key is not None:
            raise ValueError(f"{who}: give only one of seed and key, got seed={seed!r} and key={key!r}")
        key = seed
    if key is None:
        key = 0
    return private_aggregate(who, l2_norm_clip, noise_multiplier, key)
