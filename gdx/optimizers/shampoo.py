"""Shampoo: `scale_by_shampoo`, optional decoupled weight decay, then the learning rate."""

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.preconditioners.shampoo import scale_by_shampoo, validate_shampoo_args
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("shampoo")
def shampoo(
    learning_rate: ScalarOrSchedule,
    block_size: int | None = 128,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    diagonal_epsilon: jax.typing.ArrayLike = 1e-10,
    matrix_epsilon: jax.typing.ArrayLike = 1e-6,
    weight_decay: ScalarOrSchedule = 0.0,
    start_preconditioning_step: int = 5,
    preconditioning_compute_steps: int = 1,
    graft_type: str = "sgd",
    nesterov: bool = True,
    exponent_override: int = 0,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    """The Shampoo optimizer with blocking and grafting (Anil et al.'s practical Shampoo).

    Update rule (see `scale_by_shampoo` for the direction `u`)::

        u <- -lr * (scale_by_shampoo(g) + weight_decay * params)

    Per block of a matrix leaf, the direction is `L^(-1/4) G R^(-1/4)` with the
    Frobenius norm of the grafting optimizer's step; vectors and scalars take
    the grafting step. With the default SGD grafting the learning rate is on
    SGD-with-momentum's scale; with `graft_type="rmsprop"` on Adam's.

    Args:
      learning_rate: a number >= 0 or a schedule.
      block_size, b1, b2, diagonal_epsilon, matrix_epsilon: as in `scale_by_shampoo`
        (defaults of the reference code: block_size=128, b1=0.9, b2=0.999,
        diagonal_epsilon=1e-10, matrix_epsilon=1e-6).
      start_preconditioning_step, preconditioning_compute_steps, graft_type, nesterov, exponent_override:
        as in `scale_by_shampoo` (defaults of the reference code: start_preconditioning_step=5,
        preconditioning_compute_steps=1, graft_type="sgd", nesterov=True).
      weight_decay: decoupled decay >= 0 (or a schedule), added to the direction
        before the learning rate. Default 0 (the reference adds it before momentum).
      mask: which leaves to decay, as in `adamw`.

    Returns:
      A `GradientTransformation` with state
      `(ShampooState, <weight-decay state>, <learning-rate state>)`.

    References: Gupta, Koren & Singer, "Shampoo: Preconditioned Stochastic Tensor
    Optimization", ICML 2018; Anil et al., "Scalable Second Order Optimization for
    Deep Learning", 2020.
    """
    who = "shampoo"
    validate_shampoo_args(
        who,
        block_size,
        b1,
        b2,
        diagonal_epsilon,
        matrix_epsilon,
        start_preconditioning_step,
        preconditioning_compute_steps,
        graft_type,
        exponent_override,
    )
    return named_optimizer(
        who,
        scale_by_shampoo(
            block_size,
            b1,
            b2,
            diagonal_epsilon,
            matrix_epsilon,
            start_preconditioning_step,
            preconditioning_compute_steps,
            graft_type,
            nesterov,
            exponent_override,
        ),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
