"""Prodigy, the named optimizer: learning-rate-free AdamW (`scale_by_prodigy` under optax's name)."""

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.transforms.lr_free.prodigy import ProdigyState as ProdigyState  # its old import path
from gdx.transforms.lr_free.prodigy import scale_by_prodigy


@checks.called_as("prodigy")
def prodigy(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    beta3: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    estim_lr_coef: jax.typing.ArrayLike = 1.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    safeguard_warmup: bool = False,
) -> GradientTransformation:
    """Learning-rate-free AdamW: Prodigy estimates the step size `d` on the fly.

    Update rule: `scale_by_prodigy`'s, which this returns as it is (the learning
    rate multiplies `d` inside the rule, so there is nothing to chain): AdamW
    moments of `d * g`, and `d` raised to the distance estimated from
    `<g, x_0 - x>` over the weighted gradient sum.

    Args:
      learning_rate: a multiplier of the estimated step size (number >= 0 or a
        schedule, e.g. warmup then linear decay from 1 to 0). Default 1.
      betas: `(b1, b2)`, the AdamW moment decays, each in [0, 1). Default (0.9, 0.999).
      beta3: decay of the estimate's sums, in [0, 1); `None` for `sqrt(b2)`.
      eps: added to the AdamW denominator (scaled by `d`), >= 0. Default 1e-8.
      estim_lr0: initial (under-)estimate `d0` of the step size, > 0. Default 1e-6.
      estim_lr_coef: multiplies the estimate, > 0. Default 1.
      weight_decay: decoupled (AdamW) weight decay, >= 0. Default 0.
      safeguard_warmup: leave the learning rate out of the sum `s` (helps with
        a warmup schedule). Default False.

    Returns:
      `scale_by_prodigy(...)`, with optax's state `ProdigyState`; `update` needs `params`.

    Reference: Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive
    Parameter-Free Learner", ICML 2024 (arXiv:2306.06101).
    """
    return scale_by_prodigy(
        learning_rate, betas, beta3, eps, estim_lr0, estim_lr_coef, weight_decay, safeguard_warmup
    )
