"""AdEMAMix and simplified AdEMAMix, the named optimizers: their `scale_by_*`, weight decay, learning rate."""

from typing import Any

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.ademamix import (
    scale_by_ademamix,
    scale_by_simplified_ademamix,
)
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("ademamix")
def ademamix(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    b3: ScalarOrSchedule = 0.9999,
    alpha: ScalarOrSchedule = 5.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    r"""The AdEMAMix optimizer: AdamW with a mixture of a fast and a slow EMA of the gradients.

    Update rule (see `scale_by_ademamix`)::

        u <- -lr * ((m1_hat + alpha * m2) / (sqrt(nu_hat + eps_root) + eps) + weight_decay * p)

    Best for long runs: the slow EMA remembers ~`1 / (1 - b3)` steps (10,000 by
    default); for short runs try `b3=0.999`, and schedule `alpha` / `b3` with
    a warmup as the paper does.

    Args:
      learning_rate: a number >= 0 or a schedule.
      b1, b2, b3, alpha, eps, eps_root, mu_dtype: as in `scale_by_ademamix`
        (defaults 0.9, 0.999, 0.9999, 5.0, 1e-8, 0, None).
      weight_decay: decoupled weight decay >= 0 (times the learning rate). Default 0.
      mask: which params decay (pytree of bools or callable); `None`: all.

    Returns:
      A `GradientTransformation` with state `(ScaleByAdemamixState, <decay state>,
      <learning-rate state>)`, as `optax.contrib.ademamix`. `update` needs `params`.

    Reference: Pagliardini, Ablin & Grangier, "The AdEMAMix Optimizer: Better,
    Faster, Older", 2024.
    """
    who = "ademamix"
    return named_optimizer(
        who,
        scale_by_ademamix(b1=b1, b2=b2, b3=b3, alpha=alpha, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


@checks.called_as("simplified_ademamix")
def simplified_ademamix(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.99,
    b2: jax.typing.ArrayLike = 0.95,
    alpha: ScalarOrSchedule = 0.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    r"""Simplified AdEMAMix: one momentum buffer, no `alpha` schedule needed.

    Update rule (see `scale_by_simplified_ademamix`)::

        u <- -lr * ((m + alpha * g) / (sqrt(n_hat + eps_root) + eps) + weight_decay * p)

    `m` sums gradients without the `(1 - b1)` factor, so its scale is about
    `1 / (1 - b1)` times Adam's: use a correspondingly smaller learning rate.

    Args:
      learning_rate: a number >= 0 or a schedule.
      b1, b2, alpha, eps, eps_root: as in `scale_by_simplified_ademamix`
        (defaults 0.99, 0.95, 0.0, 1e-8, 0).
      weight_decay: decoupled weight decay >= 0 (times the learning rate). Default 0.
      mask: which params decay (pytree of bools or callable); `None`: all.

    Returns:
      A `GradientTransformation` with the state layout of `optax.contrib.simplified_ademamix`.
      `update` needs `params`.

    Reference: Morwani et al., "Connections between Schedule-Free Optimizers,
    AdEMAMix, and Accelerated SGD Variants", 2025.
    """
    who = "simplified_ademamix"
    return named_optimizer(
        who,
        scale_by_simplified_ademamix(b1=b1, b2=b2, alpha=alpha, eps=eps, eps_root=eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
