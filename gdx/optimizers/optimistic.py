"""Optimistic optimizers for min-max games: optimistic gradient descent and optimistic Adam."""

import warnings
from typing import Any

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adam import scale_by_adam
from gdx.transforms.optimistic import scale_by_optimistic_gradient
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("optimistic_gradient_descent")
def optimistic_gradient_descent(
    learning_rate: ScalarOrSchedule,
    alpha: ScalarOrSchedule = 1.0,
    beta: ScalarOrSchedule = 1.0,
) -> GradientTransformation:
    """Optimistic gradient descent: a step along the gradient extrapolated from the previous one.

    Update rule (at the first step `g_prev = g`)::

        u <- -lr * ((alpha + beta) * g - beta * g_prev)

    Converges in the last iterate on bilinear min-max games, where gradient
    descent-ascent cycles or diverges.

    Args:
      learning_rate: a number >= 0 or a schedule.
      alpha: coefficient of the gradient, a finite number (not a schedule, as
        in optax despite its annotation). Default 1.
      beta: coefficient of the negative momentum, a finite number. Default 1.

    Returns:
      A `GradientTransformation` with state
      `(ScaleByOptimisticGradientState(is_initial_step, previous_gradient),
      <learning-rate state>)`, as `optax.optimistic_gradient_descent`.

    Reference: Mokhtari et al., "A Unified Analysis of Extra-gradient and
    Optimistic Gradient Methods for Saddle Point Problems: Proximal Point
    Approach", AISTATS 2020 (https://arxiv.org/abs/1901.08511).
    """
    who = "optimistic_gradient_descent"
    return named_optimizer(
        who,
        scale_by_optimistic_gradient(alpha=alpha, beta=beta),  # type: ignore[arg-type]
        scale_by_learning_rate(learning_rate),
    )


@checks.called_as("optimistic_adam")
def optimistic_adam(
    learning_rate: jax.typing.ArrayLike,
    optimism: jax.typing.ArrayLike | None = None,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-08,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
) -> GradientTransformation:
    """Optimistic Adam (deprecated in optax; use `optimistic_adam_v2`, which takes schedules).

    Update rule (`r` is the Adam direction, `o` the optimism, `r_prev = r` at the first step)::

        r <- (mu / (1 - b1**t)) / (sqrt(nu / (1 - b2**t) + eps_root) + eps)   # scale_by_adam
        u <- -(lr * r + o * (r - r_prev))

    Emits a `DeprecationWarning`, as optax does.

    Args:
      learning_rate: a number >= 0 (a schedule raises `ValueError`, as in optax).
      optimism: the optimism `o`, a finite number; `None` (default) uses `learning_rate`,
        as in the paper.
      b1, b2, eps, eps_root, mu_dtype: as in `adam`.
      nesterov: use Nesterov momentum in the Adam direction. Default True.

    Returns:
      A `GradientTransformation` with state `(ScaleByAdamState,
      ScaleByOptimisticGradientState, EmptyState())`, as `optax.optimistic_adam`.

    Reference: Daskalakis et al., "Training GANs with Optimism", ICLR 2018
    (https://arxiv.org/abs/1711.00141).
    """
    who = "optimistic_adam"
    warnings.warn(
        "`optimistic_adam` is deprecated (as in optax), please use `optimistic_adam_v2` instead.",
        category=DeprecationWarning,
        stacklevel=2,
    )
    if callable(learning_rate):
        raise ValueError(
            f"{who}: learning_rate must be a number; this version does not support learning "
            "rate schedules but `optimistic_adam_v2` does"
        )
    checks.learning_rate(who, learning_rate)  # its building blocks take it as `alpha` (any sign)
    if optimism is None:
        optimism = learning_rate
    with checks.called_as(who, beta="optimism"):  # scale_by_optimistic_gradient checks it
        optimistic = scale_by_optimistic_gradient(alpha=learning_rate, beta=optimism)
    return named_optimizer(
        who,
        scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov),
        optimistic,
        scale_by_learning_rate(1.0),  # flips the sign
    )


@checks.called_as("optimistic_adam_v2")
def optimistic_adam_v2(
    learning_rate: ScalarOrSchedule,
    *,
    alpha: jax.typing.ArrayLike = 1.0,
    beta: jax.typing.ArrayLike = 1.0,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-08,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    nesterov: bool = True,
) -> GradientTransformation:
    """Optimistic Adam: optimistic gradient steps on the Adam direction.

    Update rule (`r` is the Adam direction, `r_prev = r` at the first step)::

        r <- (mu / (1 - b1**t)) / (sqrt(nu / (1 - b2**t) + eps_root) + eps)   # scale_by_adam
        u <- -lr * ((alpha + beta) * r - beta * r_prev)

    Args:
      learning_rate: a number >= 0 or a schedule.
      alpha: coefficient of the current direction, a finite number. Default 1.
      beta: coefficient of the negative momentum `r - r_prev`, a finite number. Default 1.
      b1, b2, eps, eps_root, mu_dtype: as in `adam`.
      nesterov: use Nesterov momentum in the Adam direction. Default True.

    Returns:
      A `GradientTransformation` with state `(ScaleByAdamState,
      ScaleByOptimisticGradientState, <learning-rate state>)`, as `optax.optimistic_adam_v2`.

    Reference: Daskalakis et al., "Training GANs with Optimism", ICLR 2018
    (https://arxiv.org/abs/1711.00141).
    """
    who = "optimistic_adam_v2"
    return named_optimizer(
        who,
        scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov),
        scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        scale_by_learning_rate(learning_rate),
    )
