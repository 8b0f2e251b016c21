"""Prodigy, the named optimizer: learning-rate-free AdamW (`scale_by_prodigy` under optax's name)."""

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.transforms.lr_free.prodigy import ProdigyState as ProdigyState  # its old import path
from gdx.transforms.lr_free.prodigy import scale_by_prodigy


@checks.called_as("prodigy")
@docs.shared_args
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
      learning_rate, betas, beta3, eps, estim_lr0, estim_lr_coef, weight_decay, safeguard_warmup: {prodigy}

    Returns:
      `scale_by_prodigy(...)`, with optax's state `ProdigyState`; `update` needs `params`.

    Reference: Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive
    Parameter-Free Learner", ICML 2024 (arXiv:2306.06101).
    """
    return scale_by_prodigy(
        learning_rate, betas, beta3, eps, estim_lr0, estim_lr_coef, weight_decay, safeguard_warmup
    )
