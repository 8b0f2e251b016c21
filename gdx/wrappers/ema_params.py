"""An exponential moving average of the params in the optimizer state, for evaluation (gdx only)."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype
from gdx._common.moments import safe_increment, zero_count
from gdx._common.tree_math import nodes_of_type
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, OptState, Params, apply_updates


class EmaParamsState(NamedTuple):
    """State of `ema_params`.

    Attributes:
      count: int32 number of updates averaged.
      ema: the (already bias-corrected) moving average of the params, ready to use.
    """

    count: jax.Array
    ema: Params


def ema_params(
    decay: float, debias: bool = True, *, accumulator_dtype: jax.typing.DTypeLike | None = None
) -> GradientTransformation:
    """Keeps an exponential moving average (Polyak-style) of the params in the state.

    Put it last in a chain: it sees the final updates, averages the params
    they lead to, and passes the updates through unchanged::

        x_t   = params + updates                  (the params after this step)
        w_t   = (1 - decay) / (1 - decay**t)      (debias)   or   1 - decay
        ema_t = (1 - w_t) * ema_{t-1} + w_t * x_t ,   ema_0 = the initial params

    With `debias=True` (default) `ema_t` is the bias-corrected average
    `sum_i decay**(t-i) x_i / sum_i decay**(t-i)` of the params after each step
    (`ema_1 = x_1`, so early steps are not dragged towards the initial params);
    with `debias=False` it is the classic EMA started at the initial params
    (TensorFlow's `ExponentialMovingAverage`, PyTorch's `AveragedModel`).
    Read it with `get_ema_params(opt_state)`; evaluate with it, keep training
    the raw params. Averaged weights often generalise better (Polyak & Juditsky
    1992; Izmailov et al., "Averaging Weights Leads to Wider Optima", 2018).

    Args:
      decay: weight of the past, in [0, 1) (e.g. 0.999: an average over ~1000 steps).
      debias: bias-correct the average (see above). Default True.
      accumulator_dtype: dtype of the average; None keeps each param's dtype.
        Use float32 for bfloat16 params with a decay close to 1 (a bfloat16
        average cannot move by less than 1/256 of its value).

    Returns:
      A `GradientTransformation` (needs `params` in `update`) with state
      `EmaParamsState(count, ema)`; the updates are returned unchanged.
    """
    checks.decay_rate("ema_params", "decay", decay)
    accumulator_dtype = canonical_dtype(accumulator_dtype)

    def init(params):
        # A copy (jnp.array copies), so donating params and state to a jitted step never aliases.
        ema = jax.tree.map(lambda p: jnp.array(p, dtype=accumulator_dtype), params)
        return EmaParamsState(count=zero_count(), ema=ema)

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError("ema_params needs params in update: call tx.update(grads, state, params)")
        checks.check_same_structure(updates, state.ema, who="ema_params", what="state.ema")
        count = safe_increment(state.count)
        if debias:
            weight = (1 - decay) / (1 - jnp.asarray(decay, jnp.float32) ** count.astype(jnp.float32))
        else:
            weight = jnp.asarray(1 - decay, jnp.float32)

        def average(ema, new_param):
            w = weight.astype(ema.dtype)
            return (1 - w) * ema + w * new_param.astype(ema.dtype)

        new_ema = jax.tree.map(average, state.ema, apply_updates(params, updates))
        return updates, EmaParamsState(count=count, ema=new_ema)

    return GradientTransformationExtraArgs(init, update)


def get_ema_params(opt_state: OptState) -> Params:
    """The params average kept by the (single) `ema_params` inside `opt_state`.

    Args:
      opt_state: the state of any transformation containing one `ema_params`
        (e.g. `chain(adam(1e-3), ema_params(0.999))`).

    Returns:
      The averaged params (`EmaParamsState.ema`), in the accumulator dtype.

    Raises:
      ValueError: if `opt_state` holds no `EmaParamsState`, or more than one.
    """
    found = nodes_of_type(opt_state, EmaParamsState)
    if len(found) != 1:
        raise ValueError(
            f"get_ema_params: opt_state must contain exactly one EmaParamsState (from gdx.ema_params), "
            f"found {len(found)}"
        )
    return found[0].ema
