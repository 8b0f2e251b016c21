"""The Fromage optimizer: trust-ratio steps with a matching shrink of the params."""

from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx.core import EmptyState, GradientTransformation, GradientTransformationExtraArgs, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.scaling import scale_by_learning_rate
from gdx.transforms.trust_ratio import scale_by_trust_ratio


def _shrink_params(rate: Any) -> GradientTransformation:
    """`u <- u + rate * p` for a constant `rate` in (-1, 0]: `add_decayed_weights` with a negative rate.

    `add_decayed_weights` rejects a negative constant (a user passing one made
    a mistake); Fromage's `1 / sqrt(1 + lr**2) - 1` is negative by design.
    The state is `EmptyState()`, as `add_decayed_weights` with a constant.
    """

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError("fromage needs params: call update(grads, state, params)")
        return jax.tree.map(
            lambda g, p: promoted(jnp.add, g, promoted(jnp.multiply, rate, p)).astype(g.dtype),
            updates,
            params,
        ), state

    return GradientTransformationExtraArgs(init, update)


@checks.called_as("fromage")
def fromage(learning_rate: ScalarOrSchedule, min_norm: jax.typing.ArrayLike = 1e-6) -> GradientTransformation:
    """The Fromage optimizer (Frobenius matched gradient descent).

    Update rule, leaf by leaf (`lr` the learning rate, at step `t` for a schedule)::

        c = 1 / sqrt(1 + lr**2)
        u <- -lr * c * (||p|| / ||g||) * g + (c - 1) * p        # norms floored at min_norm
        p <- p + u  =  c * (p - lr * (||p|| / ||g||) * g)

    Each step moves a layer by a fixed fraction `lr` of its norm, then
    shrinks it so its norm does not grow.

    Args:
      learning_rate: a number >= 0 or a schedule `count -> rate` (0.01 is a good
        start for most networks, per the paper).
      min_norm: the floor of the param and gradient norms in the trust ratio,
        >= 0. Default 1e-6.

    Returns:
      `chain(scale_by_trust_ratio(min_norm), scale_by_learning_rate(lr * c),
      add_decayed_weights(c - 1))`, the layout of `optax.fromage`.
      `update` needs `params`.

    References:
      Bernstein, Vahdat, Yue & Liu, On the Distance between Two Neural Networks and
      the Stability of Learning, NeurIPS 2020.
    """
    who = "fromage"
    checks.learning_rate(who, learning_rate)
    if not callable(learning_rate):
        multiplier = 1 / (1 + learning_rate**2) ** 0.5
        return named_optimizer(
            who,
            scale_by_trust_ratio(min_norm),
            scale_by_learning_rate(learning_rate * multiplier),
            _shrink_params(multiplier - 1),
        )
    schedule = learning_rate

    def multiplier_at(count):
        return 1 / (1 + schedule(count) ** 2) ** 0.5

    return named_optimizer(
        who,
        scale_by_trust_ratio(min_norm),
        scale_by_learning_rate(lambda count: multiplier_at(count) * schedule(count)),
        add_decayed_weights(lambda count: multiplier_at(count) - 1),
    )
