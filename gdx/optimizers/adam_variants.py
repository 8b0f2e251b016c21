"""AdaBelief, RAdam and Yogi: an Adam-variant rescaling followed by the learning rate."""

from typing import Any

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adam_variants import scale_by_belief, scale_by_radam, scale_by_yogi
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("adabelief")
@docs.shared_args
def adabelief(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """The AdaBelief optimizer: Adam with the variance of the gradient around its running mean.

    Update rule (`t` counts from 1, `lr` is `learning_rate` or `learning_rate(t - 1)`)::

        mu <- b1 * mu + (1 - b1) * g
        s  <- b2 * s + (1 - b2) * (g - mu)**2 + eps_root
        u  <- -lr * (mu / (1 - b1**t)) / (sqrt(s / (1 - b2**t)) + eps)

    Args:
      learning_rate: {common}
      b1: {adam}
      b2, eps, eps_root: {belief}
      nesterov: use Nesterov momentum (as `nadam`). Default False.
      nu_dtype: {adam_variants}

    Returns:
      A `GradientTransformation` with state
      `(ScaleByBeliefState(count, mu, nu), <learning-rate state>)`, as `optax.adabelief`.

    Reference: Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the
    Belief in Observed Gradients", NeurIPS 2020 (https://arxiv.org/abs/2010.07468).
    """
    who = "adabelief"
    return named_optimizer(
        who,
        scale_by_belief(b1=b1, b2=b2, eps=eps, eps_root=eps_root, nesterov=nesterov, nu_dtype=nu_dtype),
        scale_by_learning_rate(learning_rate),
    )


@checks.called_as("radam")
@docs.shared_args
def radam(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    threshold: jax.typing.ArrayLike = 5.0,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """The Rectified Adam optimizer: bias-corrected momentum SGD until Adam's variance is tractable.

    Update rule (`t` counts from 1)::

        mu <- b1 * mu + (1 - b1) * g;  nu <- b2 * nu + (1 - b2) * g**2
        rho_inf = 2 / (1 - b2) - 1;    rho = rho_inf - 2 t b2**t / (1 - b2**t)
        u <- -lr * r(rho) * mu_hat / (sqrt(nu_hat + eps_root) + eps)   if rho >= threshold
             -lr * mu_hat                                            otherwise
        r(rho) = sqrt((rho - 4) (rho - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho))

    Args:
      learning_rate: {common}
      b1, b2, eps, eps_root: as in `adam`.
      threshold: {radam}
      nesterov: use Nesterov momentum. Default False.
      nu_dtype: {adam_variants}

    Returns:
      A `GradientTransformation` with state
      `(ScaleByAdamState(count, mu, nu), <learning-rate state>)`, as `optax.radam`.

    Reference: Liu et al., "On the Variance of the Adaptive Learning Rate and
    Beyond", ICLR 2020 (https://arxiv.org/abs/1908.03265).
    """
    who = "radam"
    return named_optimizer(
        who,
        scale_by_radam(
            b1=b1,
            b2=b2,
            eps=eps,
            eps_root=eps_root,
            threshold=threshold,
            nesterov=nesterov,
            nu_dtype=nu_dtype,
        ),
        scale_by_learning_rate(learning_rate),
    )


@checks.called_as("yogi")
@docs.shared_args
def yogi(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-3,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """The Yogi optimizer: Adam whose second moment changes additively, so it cannot shrink fast.

    Update rule (`t` counts from 1; both moments start at 1e-6)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- nu - (1 - b2) * sign(nu - g**2) * g**2
        u  <- -lr * (mu / (1 - b1**t)) / (sqrt(nu / (1 - b2**t)) + eps)

    Args:
      learning_rate: {common}
      b1: {adam}
      b2, eps: {yogi}
      nu_dtype: {adam_variants}

    Returns:
      A `GradientTransformation` with state
      `(ScaleByAdamState(count, mu, nu), <learning-rate state>)`, as `optax.yogi`.

    Reference: Zaheer et al., "Adaptive Methods for Nonconvex Optimization", NeurIPS 2018.
    """
    who = "yogi"
    return named_optimizer(
        who, scale_by_yogi(b1=b1, b2=b2, eps=eps, nu_dtype=nu_dtype), scale_by_learning_rate(learning_rate)
    )
