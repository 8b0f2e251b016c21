"""MADGRAD, the named optimizer: `scale_by_madgrad` and decoupled weight decay."""

from gdx._common import checks, docs
from gdx.core import (
    GradientTransformation,
    ScalarOrSchedule,
)
from gdx.optimizers._base import named_optimizer
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.madgrad import scale_by_madgrad


@checks.called_as("madgrad")
@docs.shared_args
def madgrad(
    learning_rate: ScalarOrSchedule,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    eps: float = 1e-6,
) -> GradientTransformation:
    r"""The MADGRAD optimizer: L2 weight decay added to the gradient, then `scale_by_madgrad`.

    Update rule: `g <- g + weight_decay * x`, then `scale_by_madgrad` (see there)::

        lamb = (lr + eps) * sqrt(k + 1);  G <- G + lamb g**2;  s <- s + lamb g
        x   <- (1 - momentum) * (x0 - s / (cbrt(G) + eps)) + momentum * x

    Args:
      learning_rate, momentum: {madgrad}
      weight_decay: L2 penalty added to the gradient (coupled, as the paper's
        PyTorch code), >= 0. Default 0.
      eps: {madgrad}

    Returns:
      A `GradientTransformation` with state
      `(<add_decayed_weights state>, MadgradState(count, grad_sum_sq, s, x0))`, as optax.

    Reference: Defazio & Jelassi, "Adaptivity without Compromise: A Momentumized,
    Adaptive, Dual Averaged Gradient Method for Stochastic Optimization", 2021
    (https://arxiv.org/abs/2101.11075).
    """
    who = "madgrad"
    return named_optimizer(
        who,
        add_decayed_weights(weight_decay),
        scale_by_madgrad(learning_rate=learning_rate, momentum=momentum, eps=eps),
    )
