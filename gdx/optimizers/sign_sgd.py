"""Sign-based optimizers: signSGD, Signum and Rprop."""

from typing import Any

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.momentum import ema
from gdx.transforms.scaling import scale, scale_by_learning_rate
from gdx.transforms.sign import scale_by_rprop, scale_by_sign


@checks.called_as("sign_sgd")
def sign_sgd(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    """signSGD: a step of fixed size against the sign of each gradient coordinate.

    Update rule: `u <- -lr * sign(g)`.

    Args:
      learning_rate: a number >= 0 or a schedule.

    Returns:
      A `GradientTransformation` with state `(EmptyState(), <learning-rate state>)`,
      as `optax.sign_sgd`.

    References: Bernstein et al., "signSGD: Compressed Optimisation for
    Non-Convex Problems", ICML 2018 (https://arxiv.org/abs/1802.04434); Balles
    et al., "The Geometry of Sign Gradient Descent", 2020.
    """
    who = "sign_sgd"
    return named_optimizer(who, scale_by_sign(), scale_by_learning_rate(learning_rate))


@checks.called_as("signum")
def signum(
    learning_rate: ScalarOrSchedule,
    beta: jax.typing.ArrayLike = 0.9,
    accumulator_dtype: Any | None = None,
) -> GradientTransformation:
    """Signum: signSGD on an exponential moving average of the gradients.

    Update rule::

        m <- beta * m + (1 - beta) * g      # not debiased: only its sign is used
        u <- -lr * sign(m)

    Args:
      learning_rate: a number >= 0 or a schedule.
      beta: decay of the moving average, in [0, 1). Default 0.9.
      accumulator_dtype: dtype of the average; `None` (default) uses the params'.

    Returns:
      A `GradientTransformation` with state
      `(EmaState(count, ema), EmptyState(), <learning-rate state>)`, as `optax.signum`.

    References: Bernstein et al., "signSGD: Compressed Optimisation for
    Non-Convex Problems", ICML 2018; Zhao et al., "Deconstructing What Makes a
    Good Optimizer for Language Models", 2024 (https://arxiv.org/abs/2407.07972).
    """
    who = "signum"
    with checks.called_as(who, decay="beta"):  # ema checks it, in [0, 1)
        accumulate = ema(beta, debias=False, accumulator_dtype=accumulator_dtype)
    return named_optimizer(
        who,
        accumulate,
        scale_by_sign(),
        scale_by_learning_rate(learning_rate),
    )


@checks.called_as("rprop")
@docs.shared_args
def rprop(
    learning_rate: jax.typing.ArrayLike,
    eta_minus: jax.typing.ArrayLike = 0.5,
    eta_plus: jax.typing.ArrayLike = 1.2,
    min_step_size: jax.typing.ArrayLike = 1e-6,
    max_step_size: jax.typing.ArrayLike = 50.0,
) -> GradientTransformation:
    """The Rprop optimizer: per-coordinate step sizes adapted from the gradient's sign alone.

    Update rule (iRprop-, see `scale_by_rprop`)::

        step_sizes grow by eta_plus while sign(g) holds, shrink by eta_minus when it flips
        (clipped to [min_step_size, max_step_size]); after a flip the coordinate pauses
        u <- -step_sizes * sign(g)

    As in optax 0.2.8, each step is applied one call late (the first update is
    0); see `scale_by_rprop`.

    Args:
      learning_rate, eta_minus, eta_plus, min_step_size, max_step_size: {rprop}

    Returns:
      A `GradientTransformation` with state
      `(ScaleByRpropState(step_sizes, prev_updates), EmptyState())`, as `optax.rprop`.

    References: Riedmiller & Braun, "A Direct Adaptive Method for Faster
    Backpropagation Learning: The RPROP Algorithm", ICNN 1993; Igel & Hüsken,
    "Empirical evaluation of the improved Rprop learning algorithms", 2003.
    """
    who = "rprop"
    return named_optimizer(
        who,
        scale_by_rprop(
            learning_rate=learning_rate,
            eta_minus=eta_minus,
            eta_plus=eta_plus,
            min_step_size=min_step_size,
            max_step_size=max_step_size,
        ),
        scale(-1.0),
    )
