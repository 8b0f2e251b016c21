"""DP-SGD, the named optimizer: differentially private aggregation, optional momentum, the learning rate."""

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, ScalarOrSchedule, identity
from gdx.optimizers._base import named_optimizer
from gdx.transforms.momentum import trace
from gdx.transforms.privacy import private_aggregate, validate_privacy
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("dpsgd")
def dpsgd(
    learning_rate: ScalarOrSchedule,
    l2_norm_clip: jax.typing.ArrayLike,
    noise_multiplier: jax.typing.ArrayLike,
    seed: int,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
) -> GradientTransformation:
    """The DP-SGD optimizer: `differentially_private_aggregate`, optional momentum, the learning rate.

    Update rule (per-example grads `g_i` of a batch of `B`)::

        g = (sum_i min(1, l2_norm_clip / ||g_i||) g_i + l2_norm_clip * noise_multiplier * N(0, I)) / B
        t <- g + momentum * t            # only if momentum is not None (Nesterov: g + momentum * t)
        u <- -learning_rate * t

    Args:
      learning_rate: a number >= 0 or a schedule `count -> learning rate`.
      l2_norm_clip: the largest per-example gradient norm, > 0.
      noise_multiplier: noise standard deviation over `l2_norm_clip`, >= 0.
      seed: int seed (or `jax.random.key`) of the noise.
      momentum: momentum decay in [0, 1], or `None` (default) for plain SGD.
      nesterov: Nesterov momentum. Default False.

    Returns:
      A `GradientTransformation` with state
      `(DifferentiallyPrivateAggregateState(rng_key), <TraceState or EmptyState>, <learning-rate state>)`,
      as optax. `update` takes per-example grads (a leading batch axis on every leaf,
      e.g. from `jax.vmap(jax.grad(loss), in_axes=(None, 0))`). Unlike optax, no
      deprecation warning is raised for `seed` (it is `dpsgd`'s own argument).

    Reference: Abadi et al., "Deep Learning with Differential Privacy", CCS 2016
    (https://arxiv.org/abs/1607.00133).
    """
    who = "dpsgd"
    validate_privacy(who, l2_norm_clip, noise_multiplier)
    accumulate = identity()
    if momentum is not None:
        with checks.called_as(who, decay="momentum"):  # trace checks it, in [0, 1]
            accumulate = trace(decay=momentum, nesterov=nesterov)
    return named_optimizer(
        who,
        private_aggregate(who, l2_norm_clip, noise_multiplier, seed),
        accumulate,
        scale_by_learning_rate(learning_rate),
    )
