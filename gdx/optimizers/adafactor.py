"""Adafactor: factored second moments, update clipping, relative step sizes."""

from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adaptive_clipping import clip_by_block_rms
from gdx.transforms.block import scale_by_param_block_rms
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.factored import scale_by_factored_rms
from gdx.transforms.momentum import ema
from gdx.transforms.scaling import scale, scale_by_learning_rate


@checks.called_as("adafactor")
def adafactor(
    learning_rate: ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: jax.typing.ArrayLike = 0.8,
    decay_offset: jax.typing.ArrayLike = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: jax.typing.ArrayLike | None = 1.0,
    momentum: jax.typing.ArrayLike | None = None,
    dtype_momentum: Any = jnp.float32,
    weight_decay_rate: ScalarOrSchedule | None = None,
    eps: jax.typing.ArrayLike = 1e-30,
    factored: bool = True,
    weight_decay_mask: MaskOrFn = None,
) -> GradientTransformation:
    """The Adafactor optimizer: a memory-light Adam without first moment by default.

    Update rule (each step; the optional parts can be switched off)::

        u <- scale_by_factored_rms(g)               # g / sqrt(factored second moment)
        u <- u / max(1, rms(u) / clipping_threshold)   # if clipping_threshold is not None
        u <- learning_rate * u                       # if learning_rate is not None
        u <- u * max(rms(p), 1e-3)                   # if multiply_by_parameter_scale
        m <- momentum * m + (1 - momentum) * u; u <- m   # if momentum is not None
        u <- u + weight_decay_rate * p               # if weight_decay_rate is not None (masked)
        u <- -u

    The second-moment decay at step `t` (from 0) is `1 - (t - decay_offset + 1)**(-decay_rate)`.
    Adafactor's natural learning-rate scale differs from Adam's: with
    `multiply_by_parameter_scale` the step is relative to the params' RMS.

    Args:
      learning_rate: a number >= 0, a schedule, or `None` (default: no global
        scale, the relative step of the paper).
      min_dim_size_to_factor: factor a leaf's statistics only if two of its
        axes are at least this long, an integer >= 0. Default 128.
      decay_rate: exponent of the second-moment decay, >= 0. Default 0.8.
      decay_offset: the step fine-tuning started at, an integer >= 0. Default 0.
      multiply_by_parameter_scale: scale the step by each leaf's param RMS. Default True.
      clipping_threshold: clip each leaf's update RMS to this, > 0 (1 in the
        paper); `None` disables clipping. Default 1.0.
      momentum: decay of an (undebiased) moving average of the updates, in
        [0, 1); `None` (default) keeps no first moment.
      dtype_momentum: dtype of the momentum buffer. Default float32.
      weight_decay_rate: decoupled weight decay >= 0, a schedule, or `None` (default).
      eps: added to the squared gradients, >= 0. Default 1e-30.
      factored: use factored second moments. Default True.
      weight_decay_mask: which params to decay: `None` (all), a pytree of
        bools (or a prefix), or a callable `params -> such a pytree`.

    Returns:
      The chain above, with optax's state layout (`FactoredState`, then the
      states of the enabled parts, then the final `scale(-1)`'s).

    References:
      Shazeer & Stern, Adafactor: Adaptive Learning Rates with Sublinear Memory Cost, ICML 2018.
    """
    who = "adafactor"
    # Each argument is checked by the building block it is handed to, under adafactor's names.
    with checks.called_as(
        who,
        step_offset="decay_offset",
        epsilon="eps",
        threshold="clipping_threshold",
        decay="momentum",
        weight_decay="weight_decay_rate",
    ):
        transforms = [scale_by_factored_rms(factored, decay_rate, decay_offset, min_dim_size_to_factor, eps)]
        if clipping_threshold is not None:
            transforms.append(clip_by_block_rms(clipping_threshold))
        if learning_rate is not None:
            transforms.append(scale_by_learning_rate(learning_rate, flip_sign=False))
        if multiply_by_parameter_scale:
            transforms.append(scale_by_param_block_rms())
        if momentum is not None:
            transforms.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
        if weight_decay_rate is not None:
            transforms.append(add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    transforms.append(scale(-1))
    return named_optimizer(who, *transforms)
