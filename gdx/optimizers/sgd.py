"""Stochastic gradient descent, with optional heavy-ball or Nesterov momentum."""

from typing import Any

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, ScalarOrSchedule, identity
from gdx.optimizers._base import named_optimizer
from gdx.transforms.momentum import trace
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("sgd")
def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any | None = None,
) -> GradientTransformation:
    """Stochastic gradient descent: `u <- -learning_rate * g`, optionally with momentum.

    With momentum: `t <- g + momentum * t; u <- -learning_rate * t`
    (Nesterov: `u <- -learning_rate * (g + momentum * t)`).

    Args:
      learning_rate: a number >= 0 or a schedule `count -> rate`.
      momentum: momentum coefficient in [0, 1), or `None` (default) for plain SGD.
      nesterov: use Nesterov momentum (default False; ignored without momentum).
      accumulator_dtype: dtype of the momentum buffer; `None` (default) uses the params'.

    Returns:
      `chain(trace(momentum, nesterov, accumulator_dtype) or identity(),
      scale_by_learning_rate(learning_rate))`, the layout of `optax.sgd`
      (state `(EmptyState(), EmptyState())` without momentum and with a constant rate).

    References:
      Robbins & Monro, A Stochastic Approximation Method, 1951;
      Sutskever et al., On the importance of initialization and momentum in deep learning, 2013.
    """
    if momentum is not None:
        checks.decay_rate("sgd", "momentum", momentum)  # stricter than trace's [0, 1]
        with checks.called_as("sgd", decay="momentum"):
            accumulate = trace(decay=momentum, nesterov=nesterov, accumulator_dtype=accumulator_dtype)
    else:
        accumulate = identity()
    return named_optimizer("sgd", accumulate, scale_by_learning_rate(learning_rate))
