"""Adafactor's second-moment estimate: factored into row and column statistics.

The arithmetic mirrors optax 0.2.8's `scale_by_factored_rms` operation for
operation (float32 results agree bit for bit), with the promotions written out
so the code runs under `jax.numpy_dtype_promotion('strict')`.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx._common.moments import safe_increment, zero_count
from gdx._common.tree_math import abs_sq
from gdx.core import GradientTransformation, GradientTransformationExtraArgs


def _decay_rate_pow(i: Any, exponent: Any = 0.8) -> jax.Array:
    """Adafactor's second-moment decay schedule: `1 - (i + 1)**(-exponent)`.

    `i + 1` saturates at int32 max (optax's `i + 1` wraps to -2**31 there and the power is NaN).
    """
    t = jnp.array(safe_increment(i), jnp.float32)
    return 1.0 - t ** (-exponent)


def _factored_dims(
    shape: tuple[int, ...], factored: bool, min_dim_size_to_factor: int
) -> tuple[int, int] | None:
    """The two largest axes `(second largest, largest)`, or None when the leaf is not factored.

    A leaf is factored when `factored`, it has at least two axes, and its
    second-largest axis has at least `min_dim_size_to_factor` entries.
    """
    if not factored or len(shape) < 2:
        return None
    sorted_dims = np.argsort(shape)  # the same numpy call as optax, so ties break the same way
    if shape[sorted_dims[-2]] < min_dim_size_to_factor:
        return None
    return int(sorted_dims[-2]), int(sorted_dims[-1])


def _zeros_without_axis(x: jax.Array, axis: int) -> jax.Array:
    # Through eval_shape, as optax, so the statistics get the sharding jax infers for the reduction.
    return jnp.zeros_like(jax.eval_shape(lambda x: jnp.sum(x, axis=axis), x))


class FactoredState(NamedTuple):
    """State of `scale_by_factored_rms`.

    `v_row`/`v_col` hold the row and column statistics of factored leaves
    (a `(1,)` placeholder for the others), `v` the full second moment of
    unfactored leaves (a `(1,)` placeholder for factored ones), as in optax.
    """

    count: jax.Array
    v_row: Any
    v_col: Any
    v: Any


def _moving_average(decay_rate_t: Any, old: jax.Array, new_term: jax.Array) -> jax.Array:
    # decay * old + (1 - decay) * new, in optax's order, each operation promoted as optax's.
    kept = promoted(jnp.multiply, decay_rate_t, old)
    fresh = promoted(jnp.multiply, promoted(jnp.subtract, 1.0, decay_rate_t), new_term)
    return promoted(jnp.add, kept, fresh).astype(old.dtype)


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: jax.typing.ArrayLike = 0.8,
    step_offset: jax.typing.ArrayLike = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: jax.typing.ArrayLike = 1e-30,
    decay_rate_fn: Callable[
        [jax.typing.ArrayLike, jax.typing.ArrayLike], jax.typing.ArrayLike
    ] = _decay_rate_pow,
) -> GradientTransformation:
    """Scales updates by a factored estimate of the root mean square of the gradients (Adafactor).

    Update rule, leaf by leaf (`t` is the step count before the update, from 0)::

        beta = decay_rate_fn(t - step_offset, decay_rate)   # default 1 - (t - step_offset + 1)**-decay_rate
        s = |g|**2 + epsilon
        factored leaf (axes r < c the two largest, c the largest):
          v_row <- beta * v_row + (1 - beta) * mean(s, axis=c)
          v_col <- beta * v_col + (1 - beta) * mean(s, axis=r)
          u <- g * (v_row / mean(v_row))**-0.5 * v_col**-0.5      # broadcast back over c and r
        other leaves:
          v <- beta * v + (1 - beta) * s
          u <- g * v**-0.5

    A leaf is factored when it has two or more axes and its second-largest
    axis has at least `min_dim_size_to_factor` entries. Factoring keeps
    `O(rows + cols)` statistics instead of `O(rows * cols)`.

    Args:
      factored: use factored estimates for leaves with two or more axes. Default True.
      decay_rate: the second argument of `decay_rate_fn` (the exponent of the
        default schedule), >= 0. Default 0.8.
      step_offset: subtracted from the step count (the step fine-tuning started at),
        an integer >= 0. Default 0.
      min_dim_size_to_factor: factor a leaf only if two of its axes are at least
        this long, an integer >= 0. Default 128.
      epsilon: added to the squared gradients, >= 0. Default 1e-30.
      decay_rate_fn: `(step, decay_rate) -> beta`, the decay of the second
        moment. Default `1 - (step + 1)**(-decay_rate)` (Adafactor's); an
        upper-bounded schedule avoids freezing the statistics (Zhai et al., 2021).

    Returns:
      A `GradientTransformation` with state `FactoredState(count, v_row, v_col, v)`.
      `update` needs `params` (their shapes decide the factoring).

    References:
      Shazeer & Stern, Adafactor: Adaptive Learning Rates with Sublinear Memory Cost, ICML 2018.
      Zhai et al., Scaling Vision Transformers, 2021.
    """
    who = "scale_by_factored_rms"
    checks.non_negative(who, "decay_rate", decay_rate)
    checks.non_negative_int(who, "step_offset", step_offset)
    if isinstance(step_offset, float):  # an integral float: keep the count's int32 under strict promotion
        step_offset = int(step_offset)
    checks.non_negative_int(who, "min_dim_size_to_factor", min_dim_size_to_factor)
    checks.non_negative(who, "epsilon", epsilon)
    if not callable(decay_rate_fn):
        raise TypeError(f"{who}: decay_rate_fn must be callable, got {decay_rate_fn!r}")

    def init_leaf(param):
        placeholder = jnp.zeros((1,), param.dtype)
        dims = _factored_dims(param.shape, factored, min_dim_size_to_factor)
        if dims is not None:
            d1, d0 = dims
            return _zeros_without_axis(param, d0), _zeros_without_axis(param, d1), placeholder
        return placeholder, placeholder, jnp.zeros_like(param)

    def update_leaf(grad, v_row, v_col, v, param, decay_rate_t):
        placeholder = jnp.zeros((1,), param.dtype)
        grad_sqr = promoted(jnp.add, abs_sq(grad), epsilon)
        dims = _factored_dims(param.shape, factored, min_dim_size_to_factor)
        if dims is not None:
            d1, d0 = dims
            new_v_row = _moving_average(decay_rate_t, v_row, jnp.mean(grad_sqr, axis=d0))
            new_v_col = _moving_average(decay_rate_t, v_col, jnp.mean(grad_sqr, axis=d1))
            reduced_d1 = d1 - 1 if d1 > d0 else d1
            row_col_mean = jnp.mean(new_v_row, axis=reduced_d1, keepdims=True)
            row_factor = (new_v_row / row_col_mean) ** -0.5
            col_factor = new_v_col**-0.5
            scaled = promoted(jnp.multiply, grad, jnp.expand_dims(row_factor, axis=d0))
            update = promoted(jnp.multiply, scaled, jnp.expand_dims(col_factor, axis=d1))
            return update.astype(grad.dtype), new_v_row, new_v_col, placeholder
        new_v = _moving_average(decay_rate_t, v, grad_sqr)
        update = promoted(jnp.multiply, grad, new_v**-0.5)
        return update.astype(grad.dtype), placeholder, placeholder, new_v

    def init(params):
        leaves, treedef = jax.tree.flatten(params)
        v_row, v_col, v = zip(*[init_leaf(p) for p in leaves]) if leaves else ((), (), ())
        return FactoredState(
            count=zero_count(),
            v_row=treedef.unflatten(v_row),
            v_col=treedef.unflatten(v_col),
            v=treedef.unflatten(v),
        )

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params)")
        checks.check_same_structure(updates, params, who=who, what="params")
        if jax.tree.structure(updates) != jax.tree.structure(state.v):
            checks.check_same_structure(updates, state.v, who=who, what="state.v")
        decay_rate_t = decay_rate_fn(state.count - step_offset, decay_rate)
        grads, treedef = jax.tree.flatten(updates)
        results = [
            update_leaf(g, r, c, v, p, decay_rate_t)
            for g, r, c, v, p in zip(
                grads,
                treedef.flatten_up_to(state.v_row),
                treedef.flatten_up_to(state.v_col),
                treedef.flatten_up_to(state.v),
                treedef.flatten_up_to(params),
            )
        ]
        new_updates, v_row, v_col, v = zip(*results) if results else ((), (), (), ())
        return treedef.unflatten(new_updates), FactoredState(
            count=safe_increment(state.count),
            v_row=treedef.unflatten(v_row),
            v_col=treedef.unflatten(v_col),
            v=treedef.unflatten(v),
        )

    return GradientTransformationExtraArgs(init, update)
