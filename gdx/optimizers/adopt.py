"""ADOPT, the named optimizer: `scale_by_adopt` and the learning rate."""

from collections.abc import Callable
from typing import Any

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adopt import scale_by_adopt
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("adopt")
def adopt(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.9999,
    eps: jax.typing.ArrayLike = 1e-6,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = lambda x: x**0.25,
) -> GradientTransformation:
    """The ADOPT optimizer: `scale_by_adopt` followed by the learning rate.

    Update rule: `u <- -lr * scale_by_adopt(g)` (see `scale_by_adopt`). The
    first step only initializes the second moment, so it moves nothing.

    Args:
      learning_rate: a number >= 0 or a schedule.
      b1, b2, eps, mu_dtype, nesterov, use_clipping, clip_value_fn: as in
        `scale_by_adopt` (defaults 0.9, 0.9999, 1e-6, None, False, True, `t**0.25`).

    Returns:
      A `GradientTransformation` with state `(ScaleByAdamState(count, mu, nu),
      <learning-rate state>)`, as `optax.contrib.adopt`.

    Reference: Taniguchi et al., "ADOPT: Modified Adam Can Converge with Any beta2
    with the Optimal Rate", NeurIPS 2024.
    """
    who = "adopt"
    return named_optimizer(
        who,
        scale_by_adopt(
            b1=b1,
            b2=b2,
            eps=eps,
            mu_dtype=mu_dtype,
            nesterov=nesterov,
            use_clipping=use_clipping,
            clip_value_fn=clip_value_fn,
        ),
        scale_by_learning_rate(learning_rate),
    )
