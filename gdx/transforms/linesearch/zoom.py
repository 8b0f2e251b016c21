r"""Zoom line search: a step size satisfying the strong Wolfe conditions (`scale_by_zoom_linesearch`).

As optax 0.2.8, operation for operation (float32 results agree bit for bit).
The search itself (interval search and zoom) is in `gdx.transforms._zoom_steps`.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import cast_like, dtype_of, linesearch_scalar_dtype, promoted_dtype, tree_zeros_like
from gdx._common.moments import zero_count
from gdx._common.tree_math import tree_scale
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, Updates
from gdx.transforms.linesearch._zoom_steps import ZoomConfig, zoom_search
from gdx.transforms.linesearch.backtracking import (
    check_increase_factor,
    check_objective_args,
    hyperparameter,
    split_value_fn_kwargs,
)


class ZoomLinesearchInfo(NamedTuple):
    """What the last zoom search did, for debugging.

    Attributes:
      num_linesearch_steps: number of objective evaluations.
      decrease_error: how far the returned step is from sufficient decrease
        (0: satisfied; > 0: the values may not decrease monotonically).
      curvature_error: how far it is from the curvature condition (0:
        satisfied; > 0 is benign, e.g. `max_learning_rate` too small).
    """

    num_linesearch_steps: jax.Array
    decrease_error: jax.Array
    curvature_error: jax.Array


class ScaleByZoomLinesearchState(NamedTuple):
    """State of `scale_by_zoom_linesearch`, optax's layout.

    Attributes:
      learning_rate: the step size accepted at the last step.
      value: the objective at the accepted point (reused by `value_and_grad_from_state`).
      grad: its gradient (reused likewise).
      info: `ZoomLinesearchInfo(num_linesearch_steps, decrease_error, curvature_error)`.
    """

    learning_rate: jax.Array
    value: jax.Array
    grad: Updates
    info: ZoomLinesearchInfo


def _validate_zoom_args(who: str, **args: Any) -> None:
    checks.positive_int(who, "max_linesearch_steps", args["max_linesearch_steps"])
    if args["max_learning_rate"] is not None:
        checks.positive(who, "max_learning_rate", args["max_learning_rate"])
    checks.non_negative(who, "tol", args["tol"])
    check_increase_factor(who, args["increase_factor"], above_one=True, allow_inf=False)
    checks.decay_rate(who, "slope_rtol", args["slope_rtol"])
    checks.check_real_type(who, "curv_rtol", args["curv_rtol"])
    curv_rtol = checks.concrete_number(args["curv_rtol"])
    if curv_rtol is not None and not curv_rtol > 0:  # inf is allowed: no curvature condition
        raise ValueError(f"{who}: curv_rtol must be > 0 (inf allowed), got {args['curv_rtol']!r}")
    slope_rtol = checks.concrete_number(args["slope_rtol"])
    if curv_rtol is not None and slope_rtol is not None and not slope_rtol < curv_rtol:
        raise ValueError(
            f"{who}: slope_rtol must be < curv_rtol (0 < c1 < c2), got {slope_rtol} >= {curv_rtol}"
        )
    if args["approx_dec_rtol"] is not None:
        checks.non_negative(who, "approx_dec_rtol", args["approx_dec_rtol"])
    checks.non_negative(who, "stepsize_precision", args["stepsize_precision"])
    checks.one_of(who, "initial_guess_strategy", args["initial_guess_strategy"], ("one", "keep"))


def scale_by_zoom_linesearch(
    max_linesearch_steps: jax.typing.ArrayLike,
    max_learning_rate: jax.typing.ArrayLike | None = None,
    tol: jax.typing.ArrayLike = 0.0,
    increase_factor: jax.typing.ArrayLike = 2.0,
    slope_rtol: jax.typing.ArrayLike = 1e-4,
    curv_rtol: jax.typing.ArrayLike = 0.9,
    approx_dec_rtol: jax.typing.ArrayLike | None = 1e-6,
    stepsize_precision: jax.typing.ArrayLike = 1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
) -> GradientTransformation:
    r"""Scales updates by a step size satisfying the strong Wolfe conditions, found by zooming.

    Finds `eta` with (`f` the objective, `w` the params, `u` the updates,
    `c1 = slope_rtol`, `c2 = curv_rtol`, `eps = tol`)::

        f(w + eta u) <= f(w) + c1 * eta * <u, grad f(w)> + eps        (sufficient decrease)
        |<grad f(w + eta u), u>| <= c2 * |<grad f(w), u>| + eps      (small curvature)

    and returns `eta u`. First the step grows by `increase_factor` from the
    initial guess until an interval holding such a step is found (N&W
    Algorithm 3.5), then the interval shrinks by cubic/quadratic interpolation
    or bisection (Algorithm 3.6). Near the minimum, where the Armijo test cannot
    see differences below sqrt(machine eps), the decrease test switches to
    Hager & Zhang's approximate Wolfe condition `<grad f(w + eta u), u> <=
    (2 c1 - 1) <grad f(w), u>`, taken only where `f(w + eta u) <= f(w) +
    approx_dec_rtol * |f(w)|`. If the search fails it returns the best step
    with sufficient decrease (or 0 if every point was inf/NaN).

    `update(updates, state, params, *, value, grad, value_fn, **data)` needs the
    objective: `value = f(params)`, `grad = grad f(params)`, `value_fn = f`, and
    `data` for `f`'s other keyword arguments (an extra argument `f` does not
    take is a `TypeError`, as in optax). The state keeps the value and gradient
    at the accepted point: `gdx.value_and_grad_from_state` reuses them.

    Args:
      max_linesearch_steps: most objective evaluations per step, an integer >= 1.
      max_learning_rate: largest step size, > 0, or None (no bound; default).
      tol: tolerance on both conditions, >= 0. Default 0.
      increase_factor: growth of the step in the interval search, > 1. Default 2.
      slope_rtol: `c1` in [0, 1), below `curv_rtol`. Default 1e-4.
      curv_rtol: `c2` > `c1`; `inf` drops the curvature condition. Default 0.9.
      approx_dec_rtol: `>= 0` or None (plain Armijo only). Default 1e-6.
      stepsize_precision: stop zooming once the interval is shorter than this
        and a step with sufficient decrease exists, >= 0. Default 1e-5.
      initial_guess_strategy: `"one"` (start from 1, for (quasi-)Newton
        directions such as L-BFGS) or `"keep"` (start from the last step, for
        gradient descent; default).
      verbose: print diagnostics (with `jax.debug.print`) when the search fails.

    Returns:
      A `GradientTransformation` with state `ScaleByZoomLinesearchState(
      learning_rate, value, grad, info)`, optax's layout.

    References: Nocedal & Wright, "Numerical Optimization", 1999, Algorithms 3.5
    and 3.6; Hager & Zhang, "Algorithm 851: CG_DESCENT", 2006.

    Deliberate differences from optax (float32 and float64 results are
    identical): with bfloat16/float16 params, `learning_rate`, `value` and the
    search's scalars are float32 (optax keeps them in the first leaf's dtype,
    rounding the objective to 3 digits, and its `value_and_grad_from_state`
    then fails on a float32 objective); tried points keep the params' dtypes.
    """
    who = "scale_by_zoom_linesearch"
    _validate_zoom_args(
        who,
        max_linesearch_steps=max_linesearch_steps,
        max_learning_rate=max_learning_rate,
        tol=tol,
        increase_factor=increase_factor,
        slope_rtol=slope_rtol,
        curv_rtol=curv_rtol,
        approx_dec_rtol=approx_dec_rtol,
        stepsize_precision=stepsize_precision,
        initial_guess_strategy=initial_guess_strategy,
    )

    def init(params):
        val_dtype = linesearch_scalar_dtype(params)
        return ScaleByZoomLinesearchState(
            learning_rate=jnp.asarray(1.0, val_dtype),
            value=jnp.asarray(jnp.inf, val_dtype),
            grad=tree_zeros_like(params),
            info=ZoomLinesearchInfo(
                num_linesearch_steps=zero_count(),
                decrease_error=jnp.asarray(jnp.inf, dtype=float),
                curvature_error=jnp.asarray(jnp.inf, dtype=float),
            ),
        )

    def update(updates, state, params=None, *, value=None, grad=None, value_fn=None, **extra_args):
        value_fn = check_objective_args(who, params, value, grad, value_fn)
        fn_kwargs = split_value_fn_kwargs(who, value_fn, extra_args)
        value_and_grad_fn = functools.partial(jax.value_and_grad(value_fn), **fn_kwargs)
        scalar_dtype = promoted_dtype(dtype_of(state.learning_rate), jnp.result_type(value))
        hyper = functools.partial(hyperparameter, dtype=scalar_dtype)
        config = ZoomConfig(
            max_linesearch_steps=max_linesearch_steps,
            max_stepsize=None if max_learning_rate is None else hyper(max_learning_rate),
            tol=hyper(tol),
            increase_factor=hyper(increase_factor),
            slope_rtol=hyper(slope_rtol),
            curv_rtol=hyper(curv_rtol),
            approx_dec_rtol=None if approx_dec_rtol is None else hyper(approx_dec_rtol),
            interval_threshold=hyper(stepsize_precision),
            verbose=verbose,
        )
        init_search, step, keep_searching = zoom_search(
            config, params, updates, value_and_grad_fn, scalar_dtype
        )
        stepsize_guess = 1.0 if initial_guess_strategy == "one" else state.learning_rate
        search = jax.lax.while_loop(keep_searching, step, init_search(value, grad, stepsize_guess))
        new_state = ScaleByZoomLinesearchState(
            learning_rate=search.stepsize,
            value=search.value,
            grad=search.grad,
            info=ZoomLinesearchInfo(search.count, search.decrease_error, search.curvature_error),
        )
        scaled_updates = cast_like(tree_scale(search.stepsize, updates), updates)
        return scaled_updates, cast_like(new_state, state)

    return GradientTransformationExtraArgs(init, update)
