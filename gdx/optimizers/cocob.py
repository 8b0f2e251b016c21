"""COCOB-Backprop, the named optimizer: weight decay, the learning rate, then `scale_by_cocob`."""

from typing import Any

import jax

from gdx._common import checks
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    MaskOrFn,
    ScalarOrSchedule,
    chain,
)
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.lr_free.cocob import scale_by_cocob
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("cocob")
def cocob(
    learning_rate: ScalarOrSchedule = 1.0,
    alpha: jax.typing.ArrayLike = 100.0,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    """COCOB-Backprop: learning-rate-free SGD by coin betting, with optional weight decay.

    Update rule: `g <- learning_rate * (g + weight_decay * x)`, then `scale_by_cocob(alpha, eps)`.

    The bet is invariant to the scale of the gradients (`theta`, `L`, `G`, `R`
    all scale with it), so `learning_rate` changes almost nothing: it only
    rescales the effect of `eps`. It is kept for optax's signature and to
    inject a schedule; there is nothing to tune.

    Args:
      learning_rate: multiplies the gradients before the bet (number >= 0 or a schedule). Default 1.
      alpha: bounds the bet fraction early on, > 0. Default 100.
      eps: initial value of the largest-gradient estimate `L`, > 0. Default 1e-8.
      weight_decay: L2 penalty added to the gradients, >= 0. Default 0.
      mask: which leaves get weight decay (a pytree of bools or a callable of the params).

    Returns:
      `chain(add_decayed_weights(weight_decay, mask), scale_by_learning_rate(learning_rate,
      flip_sign=False), scale_by_cocob(alpha, eps))`, optax's layout; `update` needs `params`.

    Reference: Orabona & Tommasi, "Training Deep Networks without Learning Rates
    Through Coin Betting", NeurIPS 2017.
    """
    who = "cocob"
    decay: Any = weight_decay  # a number, as optax's (no schedule in its signature)
    chained = chain(
        add_decayed_weights(decay, mask),
        scale_by_learning_rate(learning_rate, flip_sign=False),
        scale_by_cocob(alpha, eps),
    )

    def init(params):
        checks.check_float_params(params, who=who)
        return chained.init(params)

    def update(updates, state, params=None, **extra_args):
        checks.require_params(who, params)  # before add_decayed_weights would ask in its own name
        return chained.update(updates, state, params, **extra_args)

    return GradientTransformationExtraArgs(init, update)
