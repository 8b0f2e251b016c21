"""D-Adaptation AdamW, the named optimizer: learning-rate-free AdamW (`scale_by_dadapt_adamw`)."""

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.transforms.lr_free.dadapt import DAdaptAdamWState as DAdaptAdamWState  # its old import path
from gdx.transforms.lr_free.dadapt import scale_by_dadapt_adamw


@checks.called_as("dadapt_adamw")
@docs.shared_args
def dadapt_adamw(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    weight_decay: jax.typing.ArrayLike = 0.0,
) -> GradientTransformation:
    """Learning-rate-free AdamW by D-Adaptation: the step size `d` is estimated on the fly.

    Update rule: `scale_by_dadapt_adamw`'s, which this returns as it is (the
    learning rate multiplies `d` inside the rule, so there is nothing to chain):
    AdamW whose first moment and gradient sum `s` carry the step size
    `d * lr_t`, and `d` raised to the distance estimated from `<g, s / (sqrt(v) + eps)>`
    over `||s||_1`.

    Args:
      learning_rate, betas, eps, estim_lr0, weight_decay: {dadapt}

    Returns:
      `scale_by_dadapt_adamw(...)`, with optax's state `DAdaptAdamWState`; `update` needs `params`.

    Reference: Defazio & Mishchenko, "Learning-Rate-Free Learning by
    D-Adaptation", ICML 2023 (arXiv:2301.07733), the Adam variant.
    """
    return scale_by_dadapt_adamw(learning_rate, betas, eps, estim_lr0, weight_decay)
