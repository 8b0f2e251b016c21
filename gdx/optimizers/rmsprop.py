"""RMSprop (plain or centered, with optional heavy-ball or Nesterov momentum)."""

from typing import Any

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, ScalarOrSchedule, identity
from gdx.optimizers._base import named_optimizer
from gdx.transforms.momentum import trace
from gdx.transforms.rms import scale_by_rms, scale_by_stddev
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("rmsprop")
@docs.shared_args
def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """The RMSprop optimizer.

    Update rule (`t` counts from 1)::

        nu <- decay * nu + (1 - decay) * g**2
        mu <- decay * mu + (1 - decay) * g                      # centered only
        v  = nu - mu**2 if centered else nu                     # both / (1 - decay**t) if bias_correction
        s  = -lr * g / sqrt(v + eps)     (or / (sqrt(v) + eps) if not eps_in_sqrt)
        trace <- s + momentum * trace; u <- trace               # if momentum is not None
        (nesterov: u <- s + momentum * trace)

    Args:
      learning_rate: {common}
      decay: decay of the moving averages, in [0, 1). Default 0.9.
      eps, initial_scale, eps_in_sqrt: {rms}
      centered: divide by the root of the variance estimate instead of the
        second moment (Graves 2013). Default False.
      momentum: `None` (default, no momentum) or a momentum in [0, 1).
      nesterov: use Nesterov momentum (only with `momentum`). Default False.
      bias_correction: bias-correct the moving averages. Default False.
      nu_dtype: {rms}

    Returns:
      A `GradientTransformation` with optax's state layout
      `(ScaleByRmsState | ScaleByRStdDevState [WithCount], <lr state>, TraceState | EmptyState)`.

    References: Hinton, Srivastava & Swersky, "Neural Networks for Machine
    Learning", lecture 6e, 2012; Graves, "Generating Sequences With Recurrent
    Neural Networks", 2013 (centered).
    """
    who = "rmsprop"
    accumulate = identity()
    if momentum is not None:
        checks.decay_rate(who, "momentum", momentum)  # stricter than trace's [0, 1]
        with checks.called_as(who, decay="momentum"):
            accumulate = trace(decay=momentum, nesterov=nesterov)
    scale_by_second_moment = scale_by_stddev if centered else scale_by_rms
    return named_optimizer(
        who,
        scale_by_second_moment(
            decay=decay,
            eps=eps,
            initial_scale=initial_scale,
            eps_in_sqrt=eps_in_sqrt,
            bias_correction=bias_correction,
            nu_dtype=nu_dtype,
        ),
        scale_by_learning_rate(learning_rate),
        accumulate,
    )
