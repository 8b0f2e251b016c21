"""Noisy SGD: annealed Gaussian gradient noise followed by the learning rate."""

import jax

from gdx._common import checks
from gdx.core import GradientTransformation, ScalarOrSchedule
from gdx.optimizers._base import named_optimizer
from gdx.transforms.noise import add_noise
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("noisy_sgd")
def noisy_sgd(
    learning_rate: ScalarOrSchedule,
    eta: jax.typing.ArrayLike = 0.01,
    gamma: jax.typing.ArrayLike = 0.55,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> GradientTransformation:
    """SGD on gradients with added Gaussian noise whose variance decays with the step count.

    Update rule (`t` counts from 1)::

        u <- -learning_rate * (g + N(0, eta / t**gamma))

    The noise is drawn as optax draws it, so the same `key` gives optax's numbers.

    Args:
      learning_rate: a number >= 0 or a schedule `count -> rate`.
      eta: the initial variance of the noise, >= 0. Default 0.01.
      gamma: the decay exponent of the variance, >= 0. Default 0.55.
      key: a `jax.random.key` or an int seed; `None` (default) means seed 0, as optax.
      seed: deprecated alias of `key` (optax compatibility; warns).

    Returns:
      `chain(add_noise(eta, gamma, key), scale_by_learning_rate(learning_rate))`,
      the layout of `optax.noisy_sgd` (`(AddNoiseState(count, rng_key), ...)`).

    References:
      Neelakantan et al., Adding Gradient Noise Improves Learning for Very Deep Networks, 2015.
    """
    who = "noisy_sgd"
    return named_optimizer(who, add_noise(eta, gamma, key, seed=seed), scale_by_learning_rate(learning_rate))
