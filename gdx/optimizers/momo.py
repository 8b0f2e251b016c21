"""MoMo and MoMo-Adam, the named optimizers: `scale_by_momo` / `scale_by_momo_adam` under optax's names."""

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.transforms.lr_free.momo import MomoAdamState as MomoAdamState  # its old import path
from gdx.transforms.lr_free.momo import MomoState as MomoState  # its old import path
from gdx.transforms.lr_free.momo import scale_by_momo, scale_by_momo_adam


@checks.called_as("momo")
@docs.shared_args
def momo(
    learning_rate: ScalarOrSchedule = 1.0,
    beta: jax.typing.ArrayLike = 0.9,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    """SGD with momentum and MoMo's adaptive step size: `min(learning_rate, Polyak-type step)`.

    Pass the loss: `update(grads, state, params, value=loss)`. Update rule:
    `scale_by_momo`'s, which this returns as it is (the learning rate caps the
    step inside the rule, so there is nothing to chain): averages of `g`, the
    loss and `<g, x>`, and a step `tau` from the model of the loss they make.
    With `weight_decay > 0` gdx takes MoMo's proximal step where optax does not
    divide `tau * d` by `1 + lr * weight_decay` (see `scale_by_momo`).

    Args:
      learning_rate, beta, lower_bound, weight_decay, adapt_lower_bound: {momo}

    Returns:
      `scale_by_momo(...)`, with optax's state `MomoState`; `update` needs `params` and `value`.

    Reference: Schaipp, Ohana, Eickenberg, Defazio & Gower, "MoMo: Momentum Models
    for Adaptive Learning Rates", ICML 2024 (arXiv:2305.07583).
    """
    return scale_by_momo(learning_rate, beta, lower_bound, weight_decay, adapt_lower_bound)


@checks.called_as("momo_adam")
@docs.shared_args
def momo_adam(
    learning_rate: ScalarOrSchedule = 1e-2,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    """Adam(W) with MoMo's adaptive step size: `min(learning_rate / c1, Polyak-type step)`.

    Pass the loss: `update(grads, state, params, value=loss)`. Update rule:
    `scale_by_momo_adam`'s, which this returns as it is (the learning rate caps
    the step inside the rule): MoMo's model of the loss in Adam's preconditioned
    geometry. With `weight_decay > 0` gdx takes MoMo's proximal step where optax
    does not (see `scale_by_momo_adam`).

    Args:
      learning_rate, b1, b2, eps, lower_bound, weight_decay, adapt_lower_bound: {momo_adam}

    Returns:
      `scale_by_momo_adam(...)`, with optax's state `MomoAdamState`; `update` needs `params`
      and `value`.

    Reference: Schaipp, Ohana, Eickenberg, Defazio & Gower, "MoMo: Momentum Models
    for Adaptive Learning Rates", ICML 2024 (arXiv:2305.07583).
    """
    return scale_by_momo_adam(learning_rate, b1, b2, eps, lower_bound, weight_decay, adapt_lower_bound)
