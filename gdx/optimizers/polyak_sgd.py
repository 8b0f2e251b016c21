"""SGD with the Polyak step size, computed from the loss value."""

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.optimizers.sgd import sgd
from gdx.transforms.step_size import scale_by_polyak


@docs.shared_args
def polyak_sgd(
    max_learning_rate: jax.typing.ArrayLike = 1.0,
    scaling: ScalarOrSchedule = 1.0,
    f_min: jax.typing.ArrayLike = 0.0,
    eps: jax.typing.ArrayLike = 0.0,
    variant: str = "sps",
) -> GradientTransformation:
    """SGD whose step size is Polyak's: the loss gap over the squared gradient norm.

    Update rule (`value` the loss at the current params, passed as `update(..., value=loss)`)::

        d = -scaling * g
        step = min((value - f_min) / (||d||**2 + eps), max_learning_rate)   # 0 if ||d||**2 + eps ~ 0
        u <- step * d

    With `variant="sps+"` the gap is `max(value - f_min, 0)`. `update` raises a
    `TypeError` naming `value` when it is missing (as optax's).

    Args:
      max_learning_rate: {polyak}
      scaling: a number >= 0 or a schedule multiplying the gradient before the
        step is computed. Default 1.
      f_min, eps, variant: {polyak}

    Returns:
      `chain(sgd(scaling), scale_by_polyak(f_min, max_learning_rate, eps, variant))`,
      the layout of `optax.polyak_sgd`.

    References:
      Loizou et al., Stochastic Polyak Step-size for SGD: An Adaptive Learning Rate
      for Fast Convergence, AISTATS 2021.
      Berrada et al., Training Neural Networks for and by Interpolation, ICML 2020.
      Garrigos et al., Function Value Learning: Adaptive Learning Rates Based on the
      Polyak Stepsize and Function Splitting in ERM, 2023.
    """
    who = "polyak_sgd"
    if callable(max_learning_rate):  # a cap on the Polyak step, read as a number (as in optax)
        raise TypeError(
            f"{who}: max_learning_rate must be a number, not a schedule, got {max_learning_rate!r}"
        )
    checks.non_negative(who, "max_learning_rate", max_learning_rate)
    checks.learning_rate(who, scaling, name="scaling")
    checks.finite(who, "f_min", f_min)
    checks.non_negative(who, "eps", eps)
    checks.one_of(who, "variant", variant, ("sps", "sps+"))
    return named_optimizer(
        who,
        sgd(learning_rate=scaling),
        scale_by_polyak(max_learning_rate=max_learning_rate, f_min=f_min, eps=eps, variant=variant),
    )
