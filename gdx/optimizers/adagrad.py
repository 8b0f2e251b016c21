"""AdaGrad: scale by the root of the sum of squared gradients, then by the learning rate."""

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.rms import scale_by_rss
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("adagrad")
@docs.shared_args
def adagrad(
    learning_rate: ScalarOrSchedule,
    initial_accumulator_value: jax.typing.ArrayLike = 0.1,
    eps: jax.typing.ArrayLike = 1e-7,
) -> GradientTransformation:
    """The AdaGrad optimizer.

    Update rule::

        s <- s + g**2
        u <- -lr * g / sqrt(s + eps)

    Args:
      learning_rate: {common}
      initial_accumulator_value, eps: {rss}

    Returns:
      A `GradientTransformation` with state `(ScaleByRssState(sum_of_squares), <lr state>)`.

    Reference: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online
    Learning and Stochastic Optimization", JMLR 2011.
    """
    who = "adagrad"
    return named_optimizer(
        who,
        scale_by_rss(initial_accumulator_value=initial_accumulator_value, eps=eps),
        scale_by_learning_rate(learning_rate),
    )
