"""DoG and DoWG, the named optimizers: `scale_by_dog`/`scale_by_dowg`, weight decay, the learning rate."""

from typing import Any

import jax

from gdx._common import checks
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    MaskOrFn,
    ScalarOrSchedule,
    chain,
    identity,
)
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.lr_free.dog import (
    InitStep,
    scale_by_dog,
    scale_by_dowg,
)
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("dog")
def dog(
    learning_rate: ScalarOrSchedule = 1.0,
    init_step: InitStep = ("heuristic", 1e-6),
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike | None = None,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    """Distance over Gradients (DoG): SGD with a learning-rate-free step size.

    Update rule: `g <- g + weight_decay * x` (if `weight_decay` is given), then
    `scale_by_dog(init_step, eps)`, then `u <- -learning_rate * u`; see
    `scale_by_dog`. The authors recommend averaging the iterates (e.g. `gdx.ema_params`).

    Args:
      learning_rate: a multiplier of DoG's step size (number >= 0 or a schedule). Default 1.
      init_step: `(tag, value)`: `("heuristic", a)` (default `a = 1e-6`; 1e-4
        with batch norm), `("distance", r_eps)` or `("learning_rate", eta_0)`.
      eps: added to the sum of squared gradient norms, >= 0. Default 1e-8.
      weight_decay: L2 penalty added to the gradients, >= 0, or `None` (default) for none.
      mask: which leaves get weight decay (a pytree of bools or a callable of the params).

    Returns:
      `chain(add_decayed_weights or identity, scale_by_dog, scale_by_learning_rate)`,
      optax's layout; `update` needs `params`.

    Reference: Ivgi, Hinder & Carmon, "DoG is SGD's Best Friend: A Parameter-Free
    Dynamic Step Size Schedule", ICML 2023.
    """
    who = "dog"
    return _with_decay(who, scale_by_dog(init_step, eps), learning_rate, weight_decay, mask)


@checks.called_as("dowg")
def dowg(
    learning_rate: ScalarOrSchedule = 1.0,
    init_estim_sq_dist: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-4,
    weight_decay: jax.typing.ArrayLike | None = None,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    """Distance over Weighted Gradients (DoWG): SGD with a learning-rate-free step size.

    Update rule: `g <- g + weight_decay * x` (if `weight_decay` is given), then
    `scale_by_dowg(init_estim_sq_dist, eps)`, then `u <- -learning_rate * u`; see `scale_by_dowg`.

    Args:
      learning_rate: a multiplier of DoWG's step size (number >= 0 or a schedule). Default 1.
      init_estim_sq_dist: initial squared-distance guess, > 0, or `None` (default) for `eps`.
      eps: added to the denominator, > 0. Default 1e-4.
      weight_decay: L2 penalty added to the gradients, >= 0, or `None` (default) for none.
      mask: which leaves get weight decay (a pytree of bools or a callable of the params).

    Returns:
      `chain(add_decayed_weights or identity, scale_by_dowg, scale_by_learning_rate)`,
      optax's layout; `update` needs `params`.

    Reference: Khaled, Mishchenko & Jin, "DoWG Unleashed: An Efficient Universal
    Parameter-Free Gradient Descent Method", NeurIPS 2023.
    """
    who = "dowg"
    return _with_decay(who, scale_by_dowg(init_estim_sq_dist, eps), learning_rate, weight_decay, mask)


def _with_decay(
    who: str, core: GradientTransformation, learning_rate: Any, weight_decay: Any, mask: Any
) -> GradientTransformation:
    chained = chain(
        identity() if weight_decay is None else add_decayed_weights(weight_decay, mask),
        core,
        scale_by_learning_rate(learning_rate),
    )

    def init(params):
        checks.check_float_params(params, who=who)
        return chained.init(params)

    def update(updates, state, params=None, **extra_args):
        checks.require_params(who, params)  # before add_decayed_weights would ask in its own name
        return chained.update(updates, state, params, **extra_args)

    return GradientTransformationExtraArgs(init, update)
