"""Adan: `scale_by_adan` -> decoupled weight decay -> the learning rate."""

from typing import Any

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, MaskOrFn, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adan import scale_by_adan
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("adan")
@docs.shared_args
def adan(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.98,
    b2: jax.typing.ArrayLike = 0.92,
    b3: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn = None,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """The Adan optimizer: adaptive Nesterov momentum, with decoupled weight decay.

    Update rule (`t` counts from 1; `diff = g - g_prev`, 0 at the first step)::

        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * diff
        n <- b3 * n + (1 - b3) * (g + (1 - b2) * diff)**2
        d  = (m_hat + (1 - b2) * v_hat) / (sqrt(n_hat + eps_root) + eps)   # bias-corrected
        u <- -lr * (d + weight_decay * params)

    The decay is added to the step (AdamW-style), not applied by the paper's
    division by `1 + weight_decay * lr`, as in optax.

    Args:
      learning_rate: {common}
      b1, b2, b3: {adan}
      eps: {adam}
      eps_root: added inside the square root, >= 0. Default 1e-8 (the transform's is 0).
      weight_decay: decoupled decay rate >= 0, or a schedule. Default 0.
      mask: which params to decay: `None` (all), a pytree of bools, or a callable.
      nu_dtype: {adan}

    Returns:
      A `GradientTransformation` with optax's state layout
      `(ScaleByAdanState(m, v, n, g, t), <weight-decay state>, <learning-rate state>)`;
      `update` needs `params`.

    Reference: Xie et al., "Adan: Adaptive Nesterov Momentum Algorithm for
    Faster Optimizing Deep Models", 2022 (https://arxiv.org/abs/2208.06677).
    """
    who = "adan"
    return named_optimizer(
        who,
        scale_by_adan(b1=b1, b2=b2, b3=b3, eps=eps, eps_root=eps_root, nu_dtype=nu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
