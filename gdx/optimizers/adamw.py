"""AdamW and NAdamW: Adam with decoupled weight decay, applied before the learning rate."""

from typing import Any

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adam import scale_by_adam
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate


def _adamw(
    who: str,
    learning_rate: ScalarOrSchedule,
    b1: Any,
    b2: Any,
    eps: Any,
    eps_root: Any,
    mu_dtype: Any,
    weight_decay: Any,
    mask: MaskOrFn,
    nesterov: bool,
    nu_dtype: Any,
) -> GradientTransformation:
    return named_optimizer(
        who,
        scale_by_adam(
            b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov, nu_dtype=nu_dtype
        ),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


@checks.called_as("adamw")
def adamw(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: MaskOrFn = None,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """Adam with decoupled weight decay (AdamW).

    Update rule (`t` counts from 1)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- b2 * nu + (1 - b2) * g**2
        u  <- -lr * ((mu / (1 - b1**t)) / (sqrt(nu / (1 - b2**t) + eps_root) + eps)
                     + weight_decay * params)

    The decay is scaled by the learning rate (as in optax and PyTorch), not by
    the paper's separate schedule multiplier.

    Args:
      learning_rate: a number >= 0 or a schedule.
      b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype: as in `adam`
        (`nu_dtype` is gdx-only).
      weight_decay: decay rate >= 0, or a schedule. Default 1e-4.
      mask: `None` (decay every param), a pytree of bools with the params'
        structure (or a prefix of it), or a callable `params -> such a pytree`;
        only True leaves are decayed (e.g. skip biases and norms).

    Returns:
      A `GradientTransformation` with optax's state layout
      `(ScaleByAdamState, <weight-decay state>, <learning-rate state>)`; `update` needs `params`.

    Reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """
    return _adamw(
        "adamw", learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask, nesterov, nu_dtype
    )


@checks.called_as("nadamw")
def nadamw(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: MaskOrFn = None,
    *,
    nesterov: bool = True,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """NAdam with decoupled weight decay (`adamw(..., nesterov=True)`).

    Update rule: `nadam`'s direction plus `weight_decay * params`, scaled by `-lr`.

    Args:
      learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask, nu_dtype: as in `adamw`.
      nesterov: default True (optax's `nadamw` is `partial(adamw, nesterov=True)`).

    Returns:
      A `GradientTransformation` with the state layout of `optax.nadamw`.

    References: Dozat, "Incorporating Nesterov Momentum into Adam", 2016;
    Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """
    return _adamw(
        "nadamw", learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask, nesterov, nu_dtype
    )
