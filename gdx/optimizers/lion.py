"""The Lion optimizer: signed momentum with decoupled weight decay."""

from typing import Any

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate
from gdx.transforms.sign import scale_by_lion


@checks.called_as("lion")
@docs.shared_args
def lion(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.99,
    mu_dtype: Any | None = None,
    weight_decay: ScalarOrSchedule = 1e-3,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    """The Lion optimizer (EvoLved Sign Momentum).

    Update rule::

        u  = sign((1 - b1) * g + b1 * mu) + weight_decay * p
        mu <- (1 - b2) * g + b2 * mu
        p  <- p - learning_rate * u

    Lion's sign update has a larger norm than Adam's: a learning rate 3-10x
    smaller and a weight decay 3-10x larger than AdamW's are typical.

    Args:
      learning_rate: {common}
      b1, b2, mu_dtype: {lion}
      weight_decay: decoupled weight decay >= 0, or a schedule (default 1e-3).
      mask: which params to decay: `None` (all), a pytree of bools (or a
        prefix), or a callable `params -> such a pytree`.

    Returns:
      `chain(scale_by_lion(b1, b2, mu_dtype), add_decayed_weights(weight_decay, mask),
      scale_by_learning_rate(learning_rate))`, the layout of `optax.lion`.

    References:
      Chen et al., Symbolic Discovery of Optimization Algorithms, 2023
      (https://arxiv.org/abs/2302.06675).
    """
    return named_optimizer(
        "lion",
        scale_by_lion(b1=b1, b2=b2, mu_dtype=mu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
