"""AdaDelta: `add_decayed_weights` -> `scale_by_adadelta` -> the learning rate."""

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adadelta import scale_by_adadelta
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("adadelta")
@docs.shared_args
def adadelta(
    learning_rate: ScalarOrSchedule | None = None,
    rho: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-6,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: MaskOrFn = None,
) -> GradientTransformation:
    """The AdaDelta optimizer: steps in the units of the params, from two running averages.

    Update rule (`lr` is `learning_rate`, or 1 when it is None)::

        g   <- g + weight_decay * params
        e_g <- rho * e_g + (1 - rho) * g**2
        d    = sqrt(e_x + eps) / sqrt(e_g + eps) * g     # e_x of the previous step
        e_x <- rho * e_x + (1 - rho) * d**2
        u   <- -lr * d

    Args:
      learning_rate: a number >= 0, a schedule, or `None` (default, no scaling:
        `u = +d`, as optax; pass a rate to descend).
      rho, eps: {adadelta}
      weight_decay: L2 decay added to the gradient first, >= 0, or a schedule. Default 0.
      weight_decay_mask: `None` (decay every param), a pytree of bools with the
        params' structure (or a prefix), or a callable `params -> such a pytree`.

    Returns:
      A `GradientTransformation` with optax's state layout
      `(<weight-decay state>, ScaleByAdaDeltaState(e_g, e_x), <learning-rate state>)`;
      `update` needs `params`.

    Reference: Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012
    (https://arxiv.org/abs/1212.5701).
    """
    who = "adadelta"
    return named_optimizer(
        who,
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        scale_by_adadelta(rho=rho, eps=eps),
        scale_by_learning_rate(learning_rate),
    )
