"""Distributions used to perturb parameters: `multi_normal`, a diagonal Gaussian.

As optax 0.2.8's `optax.multi_normal` (`optax._src.utils`), same sampling and
log-density arithmetic, written to run under strict dtype promotion.
"""

import operator
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import jax.scipy.stats.norm

from gdx._common.dtypes import promote, promoted


def _to_rank(x: jax.typing.ArrayLike, ndim: int) -> jax.Array:
    """`x` with leading size-1 axes up to `ndim`: numpy's rank promotion, written out."""
    return jnp.reshape(x, (1,) * (ndim - jnp.ndim(x)) + jnp.shape(x))


class MultiNormalDiagFromLogScale:
    """A Gaussian with diagonal covariance, parameterized by its mean and log standard deviation.

    Rule: `x = loc + exp(log_scale) * eps` with `eps ~ N(0, I)`; `loc` and
    `log_scale` broadcast against each other to the parameter shape, and the
    log density sums over the parameter axes.
    """

    def __init__(self, loc: jax.typing.ArrayLike, log_scale: jax.typing.ArrayLike):
        self._log_scale = jnp.asarray(log_scale)
        self._scale = jnp.exp(log_scale)
        self._mean = jnp.asarray(loc)
        # Raises ValueError('Incompatible shapes for broadcasting ...') as optax does.
        self._param_shape = jax.lax.broadcast_shapes(self._mean.shape, self._scale.shape)

    def sample(self, shape: Sequence[int], key: jax.Array) -> jax.Array:
        """Draws samples of shape `(*shape, *param_shape)` with `key` (float32 normals, as optax)."""
        noise = jax.random.normal(key, shape=tuple(shape) + self._param_shape)
        scale, mean = (_to_rank(p, noise.ndim) for p in (self._scale, self._mean))
        return promoted(operator.add, promoted(operator.mul, noise, scale), mean)

    def log_prob(self, x: jax.typing.ArrayLike) -> jax.Array:
        """The log density of `x` (shape `(..., *param_shape)`), summed over the parameter axes."""
        x, mean, scale = promote(x, self._mean, self._scale)
        mean, scale = (_to_rank(p, max(jnp.ndim(x), p.ndim)) for p in (mean, scale))
        x = _to_rank(x, mean.ndim)
        log_prob = jax.scipy.stats.norm.logpdf(x, loc=mean, scale=scale)
        return jnp.sum(log_prob, axis=tuple(-(i + 1) for i in range(len(self._param_shape))))

    @property
    def log_scale(self) -> jax.Array:
        """The log standard deviation, as given."""
        return self._log_scale

    @property
    def params(self) -> Sequence[jax.Array]:
        """`[loc, log_scale]`, as given."""
        return [self._mean, self._log_scale]


def multi_normal(loc: jax.typing.ArrayLike, log_scale: jax.typing.ArrayLike) -> MultiNormalDiagFromLogScale:
    """A diagonal Gaussian `N(loc, diag(exp(log_scale))**2)`, with `sample(shape, key)` and `log_prob(x)`.

    Args:
      loc: the mean, any shape.
      log_scale: the log standard deviation, a shape that broadcasts with `loc`.

    Returns:
      A `MultiNormalDiagFromLogScale`.

    Raises:
      ValueError: if the shapes of `loc` and `log_scale` do not broadcast.

    References:
      optax 0.2.8, `optax.multi_normal` (the noise distribution of its
      perturbation-based gradient estimators).
    """
    return MultiNormalDiagFromLogScale(loc=loc, log_scale=log_scale)
