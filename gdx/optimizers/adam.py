"""Adam, NAdam and AMSGrad: `scale_by_adam` / `scale_by_amsgrad` followed by the learning rate.

AdamW and NAdamW (decoupled weight decay) live in `gdx.optimizers.adamw`.
"""

from typing import Any

import jax

from gdx._common import checks, docs
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.adam import scale_by_adam, scale_by_amsgrad
from gdx.transforms.scaling import scale_by_learning_rate


def _adam(
    who: str,
    learning_rate: ScalarOrSchedule,
    b1: Any,
    b2: Any,
    eps: Any,
    eps_root: Any,
    mu_dtype: Any,
    nesterov: bool,
    nu_dtype: Any,
) -> GradientTransformation:
    return named_optimizer(
        who,
        scale_by_adam(
            b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov, nu_dtype=nu_dtype
        ),
        scale_by_learning_rate(learning_rate),
    )


@checks.called_as("adam")
@docs.shared_args
def adam(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """The Adam optimizer.

    Update rule (`t` counts from 1, `lr` is `learning_rate` or `learning_rate(t - 1)`)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- b2 * nu + (1 - b2) * g**2
        u  <- -lr * (mu / (1 - b1**t)) / (sqrt(nu / (1 - b2**t) + eps_root) + eps)

    Args:
      learning_rate: {common}
      b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype: {adam}

    Returns:
      A `GradientTransformation` with state
      `(ScaleByAdamState(count, mu, nu), <learning-rate state>)`, as `optax.adam`.

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """
    return _adam("adam", learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype)


@checks.called_as("nadam")
def nadam(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """The NAdam optimizer: Adam with Nesterov momentum (`adam(..., nesterov=True)`).

    Update rule (`t` counts from 1)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- b2 * nu + (1 - b2) * g**2
        mu_hat = b1 * mu / (1 - b1**(t+1)) + (1 - b1) * g / (1 - b1**t)
        u  <- -lr * mu_hat / (sqrt(nu / (1 - b2**t) + eps_root) + eps)

    Args:
      learning_rate: a number >= 0 or a schedule.
      b1, b2, eps, eps_root, mu_dtype: as in `adam`.
      nesterov: default True (optax's `nadam` is `partial(adam, nesterov=True)`).
      nu_dtype: gdx-only, as in `adam`.

    Returns:
      A `GradientTransformation` with the state layout of `optax.nadam`.

    Reference: Dozat, "Incorporating Nesterov Momentum into Adam", ICLR workshop 2016.
    """
    return _adam("nadam", learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype)


@checks.called_as("amsgrad")
@docs.shared_args
def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
    *,
    nu_dtype: Any | None = None,
) -> GradientTransformation:
    """The AMSGrad optimizer: Adam with a running maximum of the second moment.

    Update rule (`t` counts from 1)::

        mu <- b1 * mu + (1 - b1) * g
        nu <- b2 * nu + (1 - b2) * g**2
        nu_max <- max(nu_max, nu / (1 - b2**t))        # bias correction optional
        u  <- -lr * (mu / (1 - b1**t)) / (sqrt(nu_max + eps_root) + eps)

    Args:
      learning_rate: {common}
      b1, b2, eps, eps_root, mu_dtype: as in `adam`.
      bias_correction_mu, bias_correction_nu, nu_dtype: {amsgrad}

    Returns:
      A `GradientTransformation` with state
      `(ScaleByAmsgradState(count, mu, nu, nu_max), <learning-rate state>)`.

    Reference: Reddi, Kale & Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.
    """
    who = "amsgrad"
    return named_optimizer(
        who,
        scale_by_amsgrad(
            b1=b1,
            b2=b2,
            eps=eps,
            eps_root=eps_root,
            mu_dtype=mu_dtype,
            bias_correction_mu=bias_correction_mu,
            bias_correction_nu=bias_correction_nu,
            nu_dtype=nu_dtype,
        ),
        scale_by_learning_rate(learning_rate),
    )
