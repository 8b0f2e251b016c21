"""The SM3 optimizer: `scale_by_sm3` followed by the learning rate."""

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.scaling import scale_by_learning_rate
from gdx.transforms.sm3 import scale_by_sm3


@checks.called_as("sm3")
def sm3(learning_rate: ScalarOrSchedule, momentum: jax.typing.ArrayLike = 0.9) -> GradientTransformation:
    """The SM3 optimizer: Adagrad-like steps with one accumulator vector per axis.

    Update rule, leaf by leaf (see `scale_by_sm3`)::

        a  <- g**2 + min_i mu[i]           # broadcast over the leaf
        mu[i] <- max of a over every axis but i
        m  <- (1 - momentum) * g / sqrt(a + 1e-8) + momentum * m
        u  <- -learning_rate * m

    Differences from optax, both deliberate: a 0-d (scalar) leaf is treated as
    a one-element vector (optax raises `IndexError` there; see
    `scale_by_sm3`), and `learning_rate` may be a schedule (optax takes only
    a number; with a number the state layout is optax's).

    Args:
      learning_rate: a number >= 0 or a schedule `count -> rate`.
      momentum: decay of the momentum of the rescaled updates, in [0, 1). Default 0.9.

    Returns:
      `chain(scale_by_sm3(momentum), scale_by_learning_rate(learning_rate))`,
      the layout of `optax.sm3` (`(ScaleBySM3State(mu, nu), EmptyState())`).

    References:
      Anil, Gupta, Koren & Singer, Memory-Efficient Adaptive Optimization, NeurIPS 2019.
    """
    who = "sm3"
    with checks.called_as(who, b1="momentum"):  # scale_by_sm3 checks it, in [0, 1)
        accumulate = scale_by_sm3(momentum)
    return named_optimizer(who, accumulate, scale_by_learning_rate(learning_rate))
