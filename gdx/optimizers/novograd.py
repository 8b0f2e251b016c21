"""NovoGrad: `scale_by_novograd` followed by the learning rate."""

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.novograd import scale_by_novograd
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("novograd")
def novograd(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.25,
    eps: jax.typing.ArrayLike = 1e-6,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
) -> GradientTransformation:
    """The NovoGrad optimizer: momentum over gradients normalised by a per-layer second moment.

    Update rule (`t` counts from 1; `||g||` is the norm of a whole leaf, i.e. a layer)::

        nu <- ||g||**2 at t = 1, then b2 * nu + (1 - b2) * ||g||**2
        a   = g / (sqrt(nu + eps_root) + eps) + weight_decay * params
        mu <- a at t = 1, then b1 * mu + a
        u  <- -lr * mu

    Args:
      learning_rate: a number >= 0 or a schedule.
      b1: decay of the first moment, in [0, 1). Default 0.9.
      b2: decay of the per-layer second moment, in [0, 1). Default 0.25.
      eps: added to the denominator outside the square root, >= 0. Default 1e-6
        (the transform's is 1e-8).
      eps_root: added inside the square root, >= 0. Default 0.
      weight_decay: L2 decay inside the normalised step, >= 0 (a number: optax
        accepts a schedule here but cannot run it). Default 0.

    Returns:
      A `GradientTransformation` with state
      `(ScaleByNovogradState(count, mu, nu), <learning-rate state>)`, as
      `optax.novograd`; `update` needs `params` when `weight_decay != 0`.

    References: Ginsburg et al., "Stochastic Gradient Methods with Layer-wise
    Adaptive Moments for Training of Deep Networks", 2019
    (https://arxiv.org/abs/1905.11286); Li et al., "Jasper: An End-to-End
    Convolutional Neural Acoustic Model", 2019.
    """
    who = "novograd"
    if callable(weight_decay):
        raise TypeError(f"{who}: weight_decay must be a number, not a schedule, got {weight_decay!r}")
    return named_optimizer(
        who,
        scale_by_novograd(b1=b1, b2=b2, eps=eps, eps_root=eps_root, weight_decay=weight_decay),
        scale_by_learning_rate(learning_rate),
    )
