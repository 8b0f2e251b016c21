"""ACProp, the named optimizer: `scale_by_acprop`, decoupled weight decay, the learning rate."""

from typing import Any, cast

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.acprop import scale_by_acprop
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("acprop")
@docs.shared_args
def acprop(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: MaskOrFn = None,
) -> GradientTransformation:
    r"""The ACProp optimizer: `scale_by_acprop`, decoupled weight decay, then the learning rate.

    Update rule (`t` counts from 1, `lr` is `learning_rate` or `learning_rate(t - 1)`)::

        u <- -lr * (g / (sqrt(s_{t-1} / (1 - b2**(t-1))) + eps) + weight_decay * x)
        s <- b2 * s + (1 - b2) * (g - m)**2 + eps_root;   m <- b1 * m + (1 - b1) * g

    Args:
      learning_rate: {common}
      b1: {adam}
      b2, eps, eps_root: {acprop}
      weight_decay: decoupled weight decay (multiplied by the learning rate), >= 0. Default 0.
      mask: which params get weight decay: a pytree of bools (or a callable
        `params -> pytree`); `None` decays all.

    Returns:
      A `GradientTransformation` with state
      `(ScaleByBeliefState(count, mu, nu), <weight-decay state>, <learning-rate state>)`, as optax.

    Reference: Zhuang et al., "Momentum Centering and Asynchronous Update for
    Adaptive Gradient Methods", NeurIPS 2021 (https://arxiv.org/abs/2110.05454).
    """
    who = "acprop"
    return named_optimizer(
        who,
        scale_by_acprop(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        add_decayed_weights(cast(Any, weight_decay), mask),
        scale_by_learning_rate(learning_rate),
    )
