"""Sophia, the named optimizer: `scale_by_sophia`, weight decay and the learning rate."""

from typing import Any, cast

import jax

from gdx._common import checks
from gdx.core import (
    GradientTransformation,
    MaskOrFn,
    ScalarOrSchedule,
)
from gdx.optimizers._base import named_optimizer
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate
from gdx.transforms.sophia import hutchinson_estimator_diag_hessian, scale_by_sophia


@checks.called_as("sophia")
def sophia(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.965,
    b2: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 1e-4,
    weight_decay_mask: MaskOrFn = None,
    gamma: jax.typing.ArrayLike = 0.01,
    clip_threshold: jax.typing.ArrayLike | None = 1.0,
    update_interval: jax.typing.ArrayLike = 10,
    hessian_diagonal_fn: GradientTransformation = hutchinson_estimator_diag_hessian(),  # noqa: B008 - as optax
    mu_dtype: Any | None = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: jax.typing.ArrayLike = 0,
) -> GradientTransformation:
    r"""The Sophia optimizer: momentum over a clipped diagonal-Hessian preconditioner.

    Update rule (`t` counts from 1, `lr` is `learning_rate` or `learning_rate(t - 1)`)::

        m <- b1 * m + (1 - b1) * g
        u  = clip((m / (1 - b1**t)) / max(gamma * h, eps), -clip_threshold, clip_threshold)
        if (t - 1) % update_interval == 0:           # after computing u, as optax and levanter
            h <- b2 * h + (1 - b2) * hessian_diagonal_fn(params, **extra_args)
        x <- x - lr * (u + weight_decay * x)

    Call `update(grads, state, params, obj_fn=loss_of_params)`: the default
    estimator (Hutchinson, Rademacher probes) needs `obj_fn: params -> scalar`.

    Differences from the paper's Algorithm 3, all as optax 0.2.8: the first
    moment is bias-corrected, the preconditioner of a refresh step is the
    Hessian estimate from before that step, and the probes are Rademacher
    rather than Gaussian. Deliberate differences from optax: updates keep the
    grads' dtypes, and the default estimator works on trees mixing float32 and
    bfloat16 params (see `hutchinson_estimator_diag_hessian`).

    Args:
      learning_rate: a number >= 0 or a schedule `count -> learning rate`.
      b1: decay of the momentum, in [0, 1). Default 0.965.
      b2: decay of the Hessian EMA, in [0, 1). Default 0.99 (per refresh, so
        effectively `1 - (1 - b2) / update_interval` per step).
      eps: floor of the denominator, >= 0. Default 1e-8.
      weight_decay: decoupled weight decay, >= 0. Default 1e-4.
      weight_decay_mask: which params get weight decay (pytree of bools or callable).
      gamma: scale of the Hessian in the denominator, >= 0. Default 0.01.
      clip_threshold: elementwise clip of the preconditioned step, > 0, or
        `None` for no clipping. Default 1.0.
      update_interval: steps between Hessian refreshes, an int >= 1. Default 10.
      hessian_diagonal_fn: the estimator, a transformation whose `update`
        returns the Hessian diagonal. Default Hutchinson's. Under pmap/sharding
        it must average its estimate across devices itself.
      mu_dtype: dtype of the momentum in state; `None` keeps the params' dtype.
      verbose: print the fraction of unclipped coordinates (the "win rate") every
        `print_win_rate_every_n_steps` steps (an int >= 1 then). Default False.
      print_win_rate_every_n_steps: see `verbose`. Default 0.

    Returns:
      A `GradientTransformation` with state
      `(SophiaState(count, mu, nu, hessian_fn_state), <weight-decay state>, <learning-rate state>)`.

    Reference: Liu et al., "Sophia: A Scalable Stochastic Second-order Optimizer
    for Language Model Pre-training", ICLR 2024 (https://arxiv.org/abs/2305.14342).
    """
    who = "sophia"
    return named_optimizer(
        who,
        scale_by_sophia(
            b1=b1,
            b2=b2,
            eps=eps,
            gamma=gamma,
            clip_threshold=clip_threshold,
            update_interval=update_interval,
            hessian_diagonal_fn=hessian_diagonal_fn,
            mu_dtype=mu_dtype,
            verbose=verbose,
            print_win_rate_every_n_steps=print_win_rate_every_n_steps,
        ),
        add_decayed_weights(cast(Any, weight_decay), weight_decay_mask),
        scale_by_learning_rate(learning_rate),
    )
