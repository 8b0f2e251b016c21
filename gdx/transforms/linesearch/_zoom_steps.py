r"""The inner loop of the zoom line search: interval search (N&W Alg. 3.5), zoom (Alg. 3.6).

Operation for operation as optax 0.2.8's `zoom_linesearch`, so float32 results
agree with optax bit for bit. The loop state is a pytree of arrays; the params
and the direction are loop constants (closed over, not carried).
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common.dtypes import cast_like
from gdx._common.moments import safe_increment, zero_count
from gdx._common.tree_math import tree_add_scale, tree_real_vdot, tree_where
from gdx.transforms.linesearch.backtracking import cond_print

FLAG_INTERVAL_NOT_FOUND = (
    "No interval satisfying curvature condition. "
    "Consider increasing maximal possible stepsize of the linesearch."
)
FLAG_INTERVAL_TOO_SMALL = "Length of searched interval has been reduced below threshold."
FLAG_CURVATURE_COND_NOT_SATISFIED = (
    "Returning stepsize with sufficient decrease but curvature condition not satisfied."
)
FLAG_NO_STEPSIZE_FOUND = "Linesearch failed, no stepsize satisfying sufficient decrease found."
FLAG_NOT_A_DESCENT_DIRECTION = (
    "The linesearch failed because the provided direction is not a descent direction. "
)


class ZoomSearchState(NamedTuple):
    """Loop state of the zoom line search (optax's `ZoomLinesearchState` less params and direction)."""

    count: jax.Array
    stepsize_guess: jax.Array
    stepsize: jax.Array  # the last point tried, its value, gradient and slope along the direction
    value: jax.Array
    grad: Any
    slope: jax.Array
    value_init: jax.Array  # at stepsize 0
    slope_init: jax.Array
    decrease_error: jax.Array
    curvature_error: jax.Array
    error: jax.Array
    interval_found: jax.Array
    done: jax.Array
    failed: jax.Array
    # `low`/`high` bracket an acceptable step: value(low) <= value(high), not low <= high.
    low: jax.Array
    value_low: jax.Array
    slope_low: jax.Array
    high: jax.Array
    value_high: jax.Array
    slope_high: jax.Array
    cubic_ref: jax.Array
    value_cubic_ref: jax.Array
    # The best point with sufficient decrease, returned if the curvature condition fails.
    safe_stepsize: jax.Array
    safe_value: jax.Array
    safe_grad: Any


class ZoomConfig(NamedTuple):
    """Hyperparameters of one zoom search, already in the scalars' dtype (or Python numbers)."""

    max_linesearch_steps: Any
    max_stepsize: Any
    tol: Any
    increase_factor: Any
    slope_rtol: Any
    curv_rtol: Any
    approx_dec_rtol: Any
    interval_threshold: Any
    verbose: bool


def _cubicmin(a, fa, fpa, b, fb, c, fc):
    """Critical point of the cubic through (a, fa), (b, fb), (c, fc) with slope fpa at a (NaN if none)."""
    C = fpa
    db = b - a
    dc = c - a
    denom = (db * dc) ** 2 * (db - dc)
    d1 = jnp.array([[dc**2, -(db**2)], [-(dc**3), db**3]])
    A, B = (
        jnp.dot(d1, jnp.array([fb - fa - C * db, fc - fa - C * dc]), precision=jax.lax.Precision.HIGHEST)
        / denom
    )
    radical = B * B - 3.0 * A * C
    return a + (-B + jnp.sqrt(radical)) / (3.0 * A)


def _quadmin(a, fa, fpa, b, fb):
    """Critical point of the quadratic through (a, fa), (b, fb) with slope fpa at a."""
    D = fa
    C = fpa
    db = b - a
    B = (fb - D - C * db) / (db**2)
    return a - C / (2.0 * B)


def zoom_search(
    config: ZoomConfig,
    params: Any,
    updates: Any,
    value_and_grad_fn: Callable[..., tuple[Any, Any]],
    scalar_dtype: Any,
) -> tuple[Callable[..., ZoomSearchState], Callable[[ZoomSearchState], ZoomSearchState], Callable[..., Any]]:
    """`(init, step, keep_searching)` of the zoom line search along `updates` from `params`."""
    cfg = config

    def on_line(stepsize):
        """Value, gradient and slope of `eta -> f(params + eta * updates)` at `stepsize`."""
        point = cast_like(tree_add_scale(params, stepsize, updates), params)
        value, grad = value_and_grad_fn(point)
        slope = tree_real_vdot(jax.tree.map(jnp.conj, grad), updates)
        return jnp.asarray(value).astype(scalar_dtype), cast_like(grad, params), slope.astype(scalar_dtype)

    def decrease_error_at(stepsize, value_step, slope_step, value_init, slope_init):
        # Armijo (N&W eq. 3.7a) ...
        error = value_step - value_init - cfg.slope_rtol * stepsize * slope_init
        if cfg.approx_dec_rtol is not None:
            # ... or, close to the minimum, Hager & Zhang's approximate Wolfe condition (their eq. 23),
            # used only where the value has not risen above f(0) + approx_dec_rtol * |f(0)| (eqs. 26-27).
            approx_error = slope_step - (2 * cfg.slope_rtol - 1.0) * slope_init
            delta_values = value_step - value_init - cfg.approx_dec_rtol * jnp.abs(value_init)
            approx_error = jnp.maximum(approx_error, delta_values)
            error = jnp.minimum(approx_error, error)
        error = jnp.maximum(error, 0.0)
        return jnp.where(jnp.isnan(error), jnp.inf, error)

    def curvature_error_at(slope_step, slope_init):
        # Strong Wolfe curvature condition, N&W eq. 3.7b.
        error = jnp.abs(slope_step) - cfg.curv_rtol * jnp.abs(slope_init)
        error = jnp.maximum(error, 0.0)
        return jnp.where(jnp.isnan(error), jnp.inf, error)

    def init(value, grad, stepsize_guess):
        value = jnp.asarray(value).astype(scalar_dtype)
        grad = cast_like(grad, params)
        slope = tree_real_vdot(updates, grad).astype(scalar_dtype)
        zero = jnp.zeros((), scalar_dtype)
        inf = jnp.asarray(jnp.inf, scalar_dtype)
        false = jnp.asarray(False)
        return ZoomSearchState(
            count=zero_count(),
            stepsize_guess=jnp.asarray(stepsize_guess).astype(scalar_dtype),
            stepsize=zero,
            value=value,
            grad=grad,
            slope=slope,
            value_init=value,
            slope_init=slope,
            decrease_error=inf,
            curvature_error=inf,
            error=inf,
            interval_found=false,
            done=false,
            failed=false,
            low=zero,
            value_low=value,
            slope_low=slope,
            high=zero,
            value_high=value,
            slope_high=slope,
            cubic_ref=zero,
            value_cubic_ref=value,
            safe_stepsize=zero,
            safe_value=value,
            safe_grad=grad,
        )

    def search_interval(state):
        """N&W Algorithm 3.5: grow the step until an interval holding an acceptable step is found."""
        iter_num = state.count
        new_stepsize = jnp.where(iter_num == 0, state.stepsize_guess, cfg.increase_factor * state.stepsize)
        if cfg.max_stepsize is not None:
            max_stepsize_reached = new_stepsize >= cfg.max_stepsize
            new_stepsize = jnp.minimum(new_stepsize, cfg.max_stepsize)
        else:
            max_stepsize_reached = jnp.asarray(False)
        new_value, new_grad, new_slope = on_line(new_stepsize)
        decrease_error = decrease_error_at(
            new_stepsize, new_value, new_slope, state.value_init, state.slope_init
        )
        curvature_error = curvature_error_at(new_slope, state.slope_init)
        new_error = jnp.maximum(decrease_error, curvature_error)
        # A point with sufficient decrease is kept in case the curvature condition cannot be met.
        safe_stepsize, safe_value, safe_grad = tree_where(
            decrease_error <= cfg.tol,
            [new_stepsize, new_value, new_grad],
            [state.safe_stepsize, state.safe_value, state.safe_grad],
        )
        set_high_to_new = (decrease_error > 0.0) | ((new_value >= state.value) & (iter_num > 0))
        set_low_to_new = (new_slope >= 0.0) & (~set_high_to_new)
        previous = [state.stepsize, state.value, state.slope]
        new = [new_stepsize, new_value, new_slope]
        low, value_low, slope_low, high, value_high, slope_high = tree_where(
            set_low_to_new, new + previous, previous + new
        )
        interval_found = set_high_to_new | set_low_to_new | (new_error <= cfg.tol)
        # At the largest step with no interval, the curvature condition cannot be met: stop there.
        done = (new_error <= cfg.tol) | (max_stepsize_reached & ~interval_found)
        if cfg.verbose:
            cond_print(
                max_stepsize_reached & ~interval_found,
                "INFO: gdx.scale_by_zoom_linesearch:\nValue at current params: {value_init}\n"
                "Slope along update direction: {slope_init}\nStepsize reached: {stepsize}\n"
                "Decrease Error: {decrease_error}\nCurvature Error: {curvature_error}"
                + FLAG_INTERVAL_NOT_FOUND
                + "\n"
                + FLAG_CURVATURE_COND_NOT_SATISFIED,
                value_init=state.value_init,
                slope_init=state.slope_init,
                stepsize=new_stepsize,
                decrease_error=decrease_error,
                curvature_error=curvature_error,
            )
        failed = (iter_num + 1 >= cfg.max_linesearch_steps) & (~done)
        new_state = state._replace(
            count=safe_increment(iter_num),
            stepsize=new_stepsize,
            value=new_value,
            grad=new_grad,
            slope=new_slope,
            decrease_error=decrease_error,
            curvature_error=curvature_error,
            error=new_error,
            interval_found=interval_found,
            done=done,
            failed=failed,
            low=low,
            value_low=value_low,
            slope_low=slope_low,
            high=high,
            value_high=value_high,
            slope_high=slope_high,
            cubic_ref=low,
            value_cubic_ref=value_low,
            safe_stepsize=safe_stepsize,
            safe_value=safe_value,
            safe_grad=safe_grad,
        )
        return cast_like(new_state, state)

    def zoom_into_interval(state):
        """N&W Algorithm 3.6: shrink [low, high] by cubic, quadratic or bisection steps."""
        iter_num = state.count
        low, value_low, slope_low = state.low, state.value_low, state.slope_low
        high, value_high, slope_high = state.high, state.value_high, state.slope_high
        delta = jnp.abs(high - low)
        left = jnp.minimum(high, low)
        right = jnp.maximum(high, low)
        cubic_chk = 0.2 * delta
        quad_chk = 0.1 * delta
        too_small_int = delta <= cfg.interval_threshold

        middle_cubic = _cubicmin(
            low, value_low, slope_low, high, value_high, state.cubic_ref, state.value_cubic_ref
        )
        use_cubic = (middle_cubic > left + cubic_chk) & (middle_cubic < right - cubic_chk)
        middle_quad = _quadmin(low, value_low, slope_low, high, value_high)
        use_quad = (~use_cubic) & (middle_quad > left + quad_chk) & (middle_quad < right - quad_chk)
        use_bisection = (~use_cubic) & (~use_quad)
        middle = jnp.where(use_cubic, middle_cubic, state.cubic_ref)
        middle = jnp.where(use_quad, middle_quad, middle)
        middle = jnp.where(use_bisection, (low + high) / 2.0, middle)

        value_middle, grad_middle, slope_middle = on_line(middle)
        decrease_error = decrease_error_at(
            middle, value_middle, slope_middle, state.value_init, state.slope_init
        )
        curvature_error = curvature_error_at(slope_middle, state.slope_init)
        new_error = jnp.maximum(decrease_error, curvature_error)
        # Keep the lowest point with sufficient decrease in case the curvature condition fails.
        update_safe = (decrease_error <= cfg.tol) & (value_middle < state.safe_value)
        safe_stepsize, safe_value, safe_grad = tree_where(
            update_safe,
            [middle, value_middle, grad_middle],
            [state.safe_stepsize, state.safe_value, state.safe_grad],
        )
        done = new_error <= cfg.tol
        set_high_to_middle = (decrease_error > 0.0) | (value_middle >= value_low)
        set_high_to_low = (slope_middle * (high - low) >= 0.0) & (~set_high_to_middle)
        set_low_to_middle = ~set_high_to_middle
        at_middle = [middle, value_middle, slope_middle]
        at_low = [low, value_low, slope_low]
        new_high = tree_where(set_high_to_middle, at_middle, [high, value_high, slope_high])
        new_high = tree_where(set_high_to_low, at_low, new_high)
        new_low = tree_where(set_low_to_middle, at_middle, at_low)
        # The point just dropped from the bracket is the next cubic's third point.
        new_cubic_ref, new_value_cubic_ref = tree_where(
            set_high_to_middle | set_high_to_low, [high, value_high], [low, value_low]
        )
        # Stop on a tiny interval only once a point with sufficient decrease exists
        # (very steep objectives need very small steps).
        max_iter_reached = (iter_num + 1) >= cfg.max_linesearch_steps
        presumably_failed = jnp.asarray(max_iter_reached) | (too_small_int & (safe_stepsize > 0.0))
        new_state = state._replace(
            count=safe_increment(iter_num),
            stepsize=middle,
            value=value_middle,
            grad=grad_middle,
            slope=slope_middle,
            decrease_error=decrease_error,
            curvature_error=curvature_error,
            error=new_error,
            done=done,
            failed=presumably_failed & ~done,
            low=new_low[0],
            value_low=new_low[1],
            slope_low=new_low[2],
            high=new_high[0],
            value_high=new_high[1],
            slope_high=new_high[2],
            cubic_ref=new_cubic_ref,
            value_cubic_ref=new_value_cubic_ref,
            safe_stepsize=safe_stepsize,
            safe_value=safe_value,
            safe_grad=safe_grad,
        )
        return cast_like(new_state, state)

    def try_safe_step(state):
        """On failure, fall back to the best point with sufficient decrease (or stay if all were inf/NaN)."""
        outside_domain = jnp.isinf(state.decrease_error)
        stepsize, value, grad = tree_where(
            (state.safe_stepsize > 0.0) | outside_domain,
            [state.safe_stepsize, state.safe_value, state.safe_grad],
            [state.stepsize, state.value, state.grad],
        )
        if cfg.verbose:
            _print_failure(state, cfg)
        return cast_like(state._replace(stepsize=stepsize, grad=grad, value=value), state)

    def step(state):
        new_state = jax.lax.cond(state.interval_found, zoom_into_interval, search_interval, state)
        new_state = jax.lax.cond(new_state.failed, try_safe_step, lambda s: s, new_state)
        return cast_like(new_state, state)

    def keep_searching(state):
        return ~(state.done | state.failed)

    return init, step, keep_searching


def _print_failure(state: ZoomSearchState, cfg: ZoomConfig) -> None:
    jax.debug.print(
        "INFO: gdx.scale_by_zoom_linesearch:\nValue at current params: {value_init}\n"
        "Slope along update direction: {slope_init}\nStepsize reached: {stepsize}\n"
        "Decrease Error: {decrease_error}\nCurvature Error: {curvature_error}",
        value_init=state.value_init,
        slope_init=state.slope_init,
        stepsize=state.stepsize,
        decrease_error=state.decrease_error,
        curvature_error=state.curvature_error,
        ordered=True,
    )
    interval_length = jnp.abs(state.low - state.high)
    cond_print(
        interval_length <= cfg.interval_threshold,
        FLAG_INTERVAL_TOO_SMALL + " Interval length: {interval_length}.",
        interval_length=interval_length,
    )
    found_decrease = state.safe_stepsize > 0.0
    cond_print(
        found_decrease,
        FLAG_CURVATURE_COND_NOT_SATISFIED + " Stepsize ensuring sufficient decrease: {safe_stepsize}.",
        safe_stepsize=state.safe_stepsize,
    )
    is_descent_dir = state.slope_init < 0.0
    outside_domain = jnp.isinf(state.decrease_error)
    cond_print(~found_decrease, FLAG_NO_STEPSIZE_FOUND)
    cond_print(
        ~found_decrease & ~is_descent_dir,
        FLAG_NOT_A_DESCENT_DIRECTION + "The slope (={slope_init}) at stepsize=0 should be negative",
        slope_init=state.slope_init,
    )
    cond_print(
        ~found_decrease & is_descent_dir, "Consider augmenting the maximal number of linesearch iterations."
    )
    cond_print(
        ~found_decrease & outside_domain,
        "Cannot even make a step without getting Inf or Nan. "
        "The linesearch won't make a step and the optimizer is stuck.",
    )
    cond_print(
        ~found_decrease & ~outside_domain,
        "Making an unsafe step, not decreasing enough the objective. "
        "Convergence of the solver is compromised as it does not reduce values.",
    )
