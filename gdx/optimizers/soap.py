"""SOAP: `scale_by_soap`, decoupled weight decay, then the learning rate."""

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.preconditioners.soap import scale_by_soap
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("soap")
def soap(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.95,
    b2: jax.typing.ArrayLike = 0.95,
    shampoo_beta: jax.typing.ArrayLike = -1.0,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: ScalarOrSchedule = 0.01,
    precondition_frequency: int = 10,
    max_precond_dim: int = 10000,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    """The SOAP optimizer: Adam in the eigenbasis of Shampoo's preconditioner, with AdamW's decay.

    Update rule (see `scale_by_soap` for the direction `u`)::

        u <- -lr * (scale_by_soap(g) + weight_decay * params)

    The reference code applies the decay after the gradient step and skips it
    on the first call (which only builds the eigenbases); gdx applies it as
    AdamW does (to the pre-step params, every call), an `O(lr**2)` difference.

    Args:
      learning_rate: a number >= 0 or a schedule (the reference code's default is 3e-3).
      b1, b2, shampoo_beta, eps, precondition_frequency, max_precond_dim: as in
        `scale_by_soap` (reference defaults 0.95, 0.95, -1 (= b2), 1e-8, 10, 10000).
      weight_decay: decoupled decay >= 0, or a schedule. Default 0.01 (reference code).
      mask: which leaves to decay, as in `adamw`.

    Returns:
      A `GradientTransformation` with state
      `(SoapState, <weight-decay state>, <learning-rate state>)`; `update` needs
      `params` unless `weight_decay` is 0.

    Reference: Vyas et al., "SOAP: Improving and Stabilizing Shampoo using Adam",
    ICLR 2025 (arXiv 2409.11321).
    """
    who = "soap"
    return named_optimizer(
        who,
        scale_by_soap(b1, b2, shampoo_beta, eps, precondition_frequency, max_precond_dim),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
