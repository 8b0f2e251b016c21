"""Adamax and AdamaxW: Adam with the infinity norm in place of the second moment."""

from typing import Any

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adam import scale_by_adamax
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("adamax")
@docs.shared_args
def adamax(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """The Adamax optimizer.

    Update rule (`t` counts from 1)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- max(|g| + eps, b2 * nu)
        u  <- -lr * (mu / (1 - b1**t)) / nu

    Args:
      learning_rate: {common}
      b1: {adam}
      b2, eps, nu_dtype: {adamax}

    Returns:
      A `GradientTransformation` with state `(ScaleByAdamState(count, mu, nu), <lr state>)`.

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, section 7.
    """
    who = "adamax"
    return named_optimizer(
        who, scale_by_adamax(b1=b1, b2=b2, eps=eps, nu_dtype=nu_dtype), scale_by_learning_rate(learning_rate)
    )


@checks.called_as("adamaxw")
def adamaxw(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: MaskOrFn = None,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Adamax with decoupled weight decay.

    Update rule: `u <- -lr * (adamax direction + weight_decay * params)`.

    Args:
      learning_rate, b1, b2, eps, nu_dtype: as in `adamax`.
      weight_decay: decay rate >= 0, or a schedule. Default 1e-4.
      mask: `None`, a pytree of bools (or a prefix), or a callable
        `params -> such a pytree`; only True leaves are decayed.

    Returns:
      A `GradientTransformation` with state
      `(ScaleByAdamState, <weight-decay state>, <lr state>)`; `update` needs `params`.

    References: Kingma & Ba, 2015, section 7; Loshchilov & Hutter,
    "Decoupled Weight Decay Regularization", ICLR 2019.
    """
    who = "adamaxw"
    return named_optimizer(
        who,
        scale_by_adamax(b1=b1, b2=b2, eps=eps, nu_dtype=nu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
