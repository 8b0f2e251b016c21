"""Layer-wise adaptive optimizers for large batches: LAMB and LARS."""

from typing import Any

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adam import scale_by_adam
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.momentum import trace
from gdx.transforms.scaling import scale_by_learning_rate
from gdx.transforms.trust_ratio import scale_by_trust_ratio
from gdx.wrappers.masked import masked


@checks.called_as("lamb")
def lamb(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-6,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn = None,
    *,
    nu_dtype: Any | None = None,
    fast_norm: bool = False,
) -> GradientTransformation:
    """The LAMB optimizer: Adam's direction plus weight decay, rescaled layer by layer.

    Update rule, leaf by leaf::

        r = adam_direction(g) + weight_decay * p          # scale_by_adam, add_decayed_weights
        u = r * ||p|| / ||r||   (1 if either norm is 0)   # scale_by_trust_ratio
        p <- p - learning_rate * u

    Args:
      learning_rate: a number >= 0 or a schedule `count -> rate`.
      b1: first-moment decay, in [0, 1) (default 0.9).
      b2: second-moment decay, in [0, 1) (default 0.999).
      eps: added to the denominator outside the square root, >= 0 (default 1e-6).
      eps_root: added inside the square root, >= 0 (default 0.0).
      weight_decay: decoupled weight decay >= 0, or a schedule (default 0.0).
      mask: which params to decay: `None` (all), a pytree of bools (or a
        prefix), or a callable `params -> such a pytree`.
      nu_dtype: gdx-only, dtype of Adam's second moment in state (see
        `scale_by_adam`); `None` keeps the params' dtype.
      fast_norm: gdx-only, the trust ratio's norms from one reduction each
        instead of optax's two (`scale_by_trust_ratio(fast_norm=True)`): a
        faster step, each norm within 1 ulp of optax's. Default False (optax's bits).

    Returns:
      `chain(scale_by_adam(b1, b2, eps, eps_root), add_decayed_weights(weight_decay, mask),
      scale_by_trust_ratio(), scale_by_learning_rate(learning_rate))`, the layout of `optax.lamb`.

    References:
      You et al., Large Batch Optimization for Deep Learning: Training BERT in 76
      minutes, 2020 (https://arxiv.org/abs/1904.00962).
    """
    return named_optimizer(
        "lamb",
        scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root, nu_dtype=nu_dtype),
        add_decayed_weights(weight_decay=weight_decay, mask=mask),
        scale_by_trust_ratio(fast_norm=fast_norm),
        scale_by_learning_rate(learning_rate),
    )


@checks.called_as("lars")
def lars(
    learning_rate: ScalarOrSchedule,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: MaskOrFn = True,
    trust_coefficient: jax.typing.ArrayLike = 0.001,
    eps: jax.typing.ArrayLike = 0.0,
    trust_ratio_mask: MaskOrFn = True,
    momentum: jax.typing.ArrayLike = 0.9,
    nesterov: bool = False,
    *,
    fast_norm: bool = False,
) -> GradientTransformation:
    """The LARS optimizer: SGD with momentum on layer-wise trust-ratio-scaled updates.

    Update rule, leaf by leaf::

        r = g + weight_decay * p                                    # where weight_decay_mask
        r <- r * trust_coefficient * ||p|| / (||r|| + eps)          # where trust_ratio_mask
        t <- -learning_rate * r + momentum * t                      # trace (Nesterov optional)
        p <- p + t

    Args:
      learning_rate: a number >= 0 or a schedule `count -> rate`.
      weight_decay: weight decay >= 0, or a schedule (default 0.0).
      weight_decay_mask: which params to decay: a pytree of bools (or a prefix;
        default `True`, all), or a callable `params -> such a pytree`.
      trust_coefficient: the trust-ratio multiplier, >= 0 (default 0.001).
      eps: added to the update norm in the trust ratio, >= 0 (default 0.0).
      trust_ratio_mask: which params get the trust ratio (default `True`, all).
        Commonly biases and normalisation scales are excluded from both masks.
      momentum: momentum coefficient in [0, 1) (default 0.9).
      nesterov: use Nesterov momentum (default False).
      fast_norm: gdx-only, the trust ratio's norms from one reduction each
        instead of optax's two (`scale_by_trust_ratio(fast_norm=True)`): a
        faster step, each norm within 1 ulp of optax's. Default False (optax's bits).

    Returns:
      `chain(add_decayed_weights(weight_decay, weight_decay_mask),
      masked(scale_by_trust_ratio(trust_coefficient=..., eps=...), trust_ratio_mask),
      scale_by_learning_rate(learning_rate), trace(momentum, nesterov))`, the layout of `optax.lars`.

    References:
      You et al., Large Batch Training of Convolutional Networks, 2017
      (https://arxiv.org/abs/1708.03888).
    """
    checks.decay_rate("lars", "momentum", momentum)  # stricter than trace's [0, 1]
    with checks.called_as("lars", decay="momentum"):
        accumulate = trace(decay=momentum, nesterov=nesterov)
    return named_optimizer(
        "lars",
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        masked(
            inner=scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps, fast_norm=fast_norm),
            mask=trust_ratio_mask,
        ),
        scale_by_learning_rate(learning_rate),
        accumulate,
    )
