"""DoG and DoWG: SGD whose step size is a distance over a gradient-norm sum (learning-rate-free)."""

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promote, promoted, promoted_py, scalar_dtype, tree_copy
from gdx._common.tree_math import global_norm
from gdx._common.tree_math import squared_global_norm as tree_squared_norm
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    Params,
)

InitStep = tuple[Literal["distance", "learning_rate", "heuristic"], jax.typing.ArrayLike]


class DoGState(NamedTuple):
    """State of `scale_by_dog`, optax's layout: whether the next step is the first (bool),
    the initial params, the largest distance from them `r_bar` and the sum of squared gradient norms."""

    is_init_step: jax.Array
    init_params: Params
    max_dist: jax.Array
    sum_sq_norm_grads: jax.Array


class DoWGState(NamedTuple):
    """State of `scale_by_dowg`, optax's layout: the initial params, the distance-weighted sum of
    squared gradient norms and the largest squared distance from the initial params."""

    init_params: Params
    weighted_sq_norm_grads: jax.Array
    estim_sq_dist: jax.Array


def _scale(step_size: jax.Array, updates: Any) -> Any:
    return jax.tree.map(lambda g: promoted_py(jnp.multiply, step_size, g).astype(g.dtype), updates)


def _distance(init_params: Any, params: Any) -> Any:
    return jax.tree.map(jnp.subtract, init_params, params)


def scale_by_dog(init_step: InitStep, eps: jax.typing.ArrayLike = 1e-8) -> GradientTransformation:
    """Scales updates by DoG's step size: the largest distance travelled over the root gradient-norm sum.

    Update rule (`x_0` the params at `init`; one global step size for the whole tree)::

        r_bar <- max(r_bar, ||x - x_0||)            # r_bar starts at r_eps
        G     <- G + ||g||**2
        eta   = r_bar / sqrt(G + eps)               # first step: init_step's value if "learning_rate"
        u     <- eta * g

    `init_step = (tag, value)` sets the start: `("distance", r)` gives `r_eps = r`;
    `("heuristic", a)` gives `r_eps = a * (1 + ||x_0||)` (the paper's
    `reps_rel`; pass the real params to `init`); `("learning_rate", eta_0)` makes the first
    step size `eta_0` and `r_eps = 0`. This is the global DoG of the paper,
    not the layer-wise L-DoG (as in optax).

    Args:
      init_step: `(tag, value)` as above, `value > 0`.
      eps: added to the sum of squared norms, >= 0. Default 1e-8.

    Returns:
      A `GradientTransformation` with state `DoGState`; `update` needs `params`.
      It does not flip the sign: chain a negative learning rate after it.

    Reference: Ivgi, Hinder & Carmon, "DoG is SGD's Best Friend: A Parameter-Free
    Dynamic Step Size Schedule", ICML 2023.
    """
    who = "scale_by_dog"
    named = checks.caller(who)  # the recipe the user called, for errors at update
    tag, value = _validate_init_step(who, init_step)
    checks.non_negative(who, "eps", eps)

    def init(params):
        dtype = scalar_dtype(params)
        if tag == "distance":
            r_eps = value
        elif tag == "heuristic":
            r_eps = promoted_py(jnp.multiply, value, promoted_py(jnp.add, 1, global_norm(params)))
        else:
            r_eps = 0.0
        return DoGState(
            is_init_step=jnp.asarray(True),
            init_params=tree_copy(params),
            max_dist=jnp.asarray(r_eps).astype(dtype),
            sum_sq_norm_grads=jnp.asarray(0.0, dtype),
        )

    def update(updates, state, params=None, **extra_args):
        del extra_args
        checks.require_params(named, params)
        checks.check_same_structure(updates, state.init_params, who=named, what="state.init_params")
        max_dist = promoted(jnp.maximum, state.max_dist, global_norm(_distance(state.init_params, params)))
        sum_sq_norm_grads = promoted_py(jnp.add, state.sum_sq_norm_grads, tree_squared_norm(updates))
        step_size = promoted_py(jnp.divide, max_dist, jnp.sqrt(promoted_py(jnp.add, sum_sq_norm_grads, eps)))
        if tag == "learning_rate":
            step_size = jnp.where(state.is_init_step, *promote(value, step_size))
        return _scale(step_size, updates), DoGState(
            is_init_step=jnp.asarray(False),
            init_params=state.init_params,
            max_dist=max_dist.astype(state.max_dist.dtype),
            sum_sq_norm_grads=sum_sq_norm_grads.astype(state.sum_sq_norm_grads.dtype),
        )

    return GradientTransformationExtraArgs(init, update)


def scale_by_dowg(
    init_estim_sq_dist: jax.typing.ArrayLike | None = None, eps: jax.typing.ArrayLike = 1e-4
) -> GradientTransformation:
    """Scales updates by DoWG's step size: distance-weighted gradient norms in the denominator.

    Update rule (`x_0` the params at `init`; one global step size for the whole tree)::

        r2  <- max(r2, ||x - x_0||**2)          # starts at init_estim_sq_dist (eps if None)
        v   <- v + r2 * ||g||**2
        eta = r2 / (sqrt(v) + eps)
        u   <- eta * g

    Args:
      init_estim_sq_dist: initial guess of the squared distance to the solution,
        > 0, or `None` (default) for `eps`.
      eps: added to the denominator, > 0. Default 1e-4.

    Returns:
      A `GradientTransformation` with state `DoWGState`; `update` needs `params`.
      It does not flip the sign: chain a negative learning rate after it.

    Reference: Khaled, Mishchenko & Jin, "DoWG Unleashed: An Efficient Universal
    Parameter-Free Gradient Descent Method", NeurIPS 2023.
    """
    who = "scale_by_dowg"
    named = checks.caller(who)  # the recipe the user called, for errors at update
    _validate_dowg(who, init_estim_sq_dist, eps)
    initial = eps if init_estim_sq_dist is None else init_estim_sq_dist

    def init(params):
        dtype = scalar_dtype(params)
        return DoWGState(
            init_params=tree_copy(params),
            weighted_sq_norm_grads=jnp.asarray(0.0, dtype),
            estim_sq_dist=jnp.asarray(initial).astype(dtype),
        )

    def update(updates, state, params=None, **extra_args):
        del extra_args
        checks.require_params(named, params)
        checks.check_same_structure(updates, state.init_params, who=named, what="state.init_params")
        sq_dist = tree_squared_norm(_distance(state.init_params, params))
        estim_sq_dist = promoted(jnp.maximum, state.estim_sq_dist, sq_dist)
        weighted = promoted_py(
            jnp.add,
            promoted_py(jnp.multiply, estim_sq_dist, tree_squared_norm(updates)),
            state.weighted_sq_norm_grads,
        )
        step_size = promoted_py(jnp.divide, estim_sq_dist, promoted_py(jnp.add, jnp.sqrt(weighted), eps))
        return _scale(step_size, updates), DoWGState(
            init_params=state.init_params,
            weighted_sq_norm_grads=weighted.astype(state.weighted_sq_norm_grads.dtype),
            estim_sq_dist=estim_sq_dist.astype(state.estim_sq_dist.dtype),
        )

    return GradientTransformationExtraArgs(init, update)


def _validate_init_step(who: str, init_step: Any) -> tuple[str, Any]:
    if not isinstance(init_step, tuple | list) or len(init_step) != 2:
        raise ValueError(checks.message(who, "init_step", f"must be a pair (tag, value), got {init_step!r}"))
    tag, value = init_step
    checks.one_of(who, "init_step[0]", tag, ("distance", "learning_rate", "heuristic"))
    checks.positive(who, "init_step[1]", value)
    return tag, value


def _validate_dowg(who: str, init_estim_sq_dist: Any, eps: Any) -> None:
    if init_estim_sq_dist is not None:
        checks.positive(who, "init_estim_sq_dist", init_estim_sq_dist)
    checks.positive(who, "eps", eps)
