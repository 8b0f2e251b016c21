"""Scaling each update leaf ("block") by the size of its param: norm or root mean square.

A block is one leaf of the params tree (a weight vector, a weight matrix, a
convolution kernel). The arithmetic mirrors optax 0.2.8 operation for
operation, with promotions written out for strict dtype promotion.
"""

from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx._common.norms import safe_norm, safe_root_mean_squares
from gdx.core import EmptyState, GradientTransformation, GradientTransformationExtraArgs


def _scale_by_param_size(who: str, size_of: Any, min_scale: Any) -> GradientTransformation:
    checks.non_negative(who, "min_scale", min_scale)

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params)")
        checks.check_same_structure(updates, params, who=who, what="params")
        updates = jax.tree.map(
            lambda u, p: promoted(jnp.multiply, u, size_of(p, min_scale)).astype(u.dtype), updates, params
        )
        return updates, state

    return GradientTransformationExtraArgs(init, update)


def scale_by_param_block_norm(min_scale: jax.typing.ArrayLike = 1e-3) -> GradientTransformation:
    """Multiplies each leaf's update by the L2 norm of its param: `u <- u * max(||p||_2, min_scale)`.

    Args:
      min_scale: the smallest factor, >= 0 (keeps zero-initialised params moving). Default 1e-3.

    Returns:
      A stateless `GradientTransformation` (`EmptyState`). `update` needs `params`.
    """
    return _scale_by_param_size("scale_by_param_block_norm", safe_norm, min_scale)


def scale_by_param_block_rms(min_scale: jax.typing.ArrayLike = 1e-3) -> GradientTransformation:
    """Multiplies each leaf's update by the root mean square of its param: `u <- u * max(rms(p), min_scale)`.

    Adafactor's relative step size ("multiply_by_parameter_scale").

    Args:
      min_scale: the smallest factor, >= 0. Default 1e-3.

    Returns:
      A stateless `GradientTransformation` (`EmptyState`). `update` needs `params`.

    References:
      Shazeer & Stern, Adafactor: Adaptive Learning Rates with Sublinear Memory Cost, ICML 2018.
    """
    return _scale_by_param_size("scale_by_param_block_rms", safe_root_mean_squares, min_scale)
