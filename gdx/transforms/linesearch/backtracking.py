r"""Backtracking (Armijo) line search, and `value_and_grad_from_state` for every line search.

A line search's `update` takes the objective through extra arguments, as in
optax: `update(updates, state, params, value=f(params), grad=grad_f(params),
value_fn=f, **data)`, where `data` are the further keyword arguments of `f`.
Operation for operation as optax 0.2.8 (`optax._src.linesearch`), so float32
results agree with optax bit for bit. The zoom (strong Wolfe) line search lives
in `gdx.transforms.linesearch.zoom`.
"""

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import cast_like, dtype_of, linesearch_scalar_dtype, promoted_dtype, tree_zeros_like
from gdx._common.moments import zero_count
from gdx._common.tree_math import tree_add_scale, tree_real_vdot, tree_scale
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, OptState, Params, Updates

# --- helpers shared with the zoom line search ----------------------------------------


def check_objective_args(who: str, params: Any, value: Any, grad: Any, value_fn: Any) -> Callable[..., Any]:
    """Returns `value_fn`; raises a `TypeError` naming whichever of `value`, `grad`, `value_fn` is missing.

    Missing `params` is a `ValueError`, as for every transformation that needs them.
    """
    if params is None:
        raise ValueError(f"{who} needs params: call update(updates, state, params, value=..., ...)")
    missing = [
        name for name, arg in (("value", value), ("grad", grad), ("value_fn", value_fn)) if arg is None
    ]
    if missing:
        raise TypeError(
            f"{who}.update is missing the keyword argument(s) {', '.join(missing)}: a line search needs "
            "update(updates, state, params, value=f(params), grad=grad_f(params), value_fn=f); "
            "gdx.value_and_grad_from_state(f)(params, state=state) gives value and grad"
        )
    if not callable(value_fn):
        raise TypeError(f"{who}: value_fn must be the objective (a callable), got {value_fn!r}")
    return value_fn


def split_value_fn_kwargs(
    who: str, value_fn: Callable[..., Any], extra_args: dict[str, Any]
) -> dict[str, Any]:
    """The extra arguments `value_fn` takes by name; any other one is a `TypeError`, as in optax."""
    accepted = list(inspect.signature(value_fn).parameters)
    unexpected = sorted(key for key in extra_args if key not in accepted)
    if unexpected:
        raise TypeError(
            f"Unexpected keyword arguments passed to `{who}.update`. These arguments were not consumed "
            f"by `value_fn`: {unexpected}. Ensure that all extra keyword arguments are accepted "
            "by `value_fn`."
        )
    return {key: value for key, value in extra_args.items() if key in accepted}


def cond_print(condition: jax.Array, message: str, **kwargs: Any) -> None:
    """`jax.debug.print(message)` when the traced `condition` holds."""
    jax.lax.cond(condition, lambda: jax.debug.print(message, **kwargs, ordered=True), lambda: None)


def hyperparameter(value: Any, dtype: Any) -> Any:
    """A Python number as it is (weakly typed, as in optax); an array cast to the scalars' `dtype`."""
    return value if type(value) in (int, float) else jnp.asarray(value).astype(dtype)


def check_increase_factor(who: str, value: Any, *, above_one: bool, allow_inf: bool) -> None:
    """`increase_factor >= 1` (`> 1` if `above_one`; `inf` only if `allow_inf`), for concrete numbers."""
    checks.check_real_type(who, "increase_factor", value)
    number = checks.concrete_number(value)
    if number is None or (allow_inf and number == math.inf):
        return
    if math.isnan(number) or math.isinf(number) or number < 1 or (above_one and number == 1):
        allowed = ("> 1" if above_one else ">= 1") + (" (inf allowed)" if allow_inf else "")
        raise ValueError(f"{who}: increase_factor must be {allowed}, got {value!r}")


# --- backtracking ---------------------------------------------------------------------


class BacktrackingLinesearchInfo(NamedTuple):
    """What the last backtracking search did: steps taken, final decrease error (0 = success)."""

    num_linesearch_steps: jax.Array
    decrease_error: jax.Array


class ScaleByBacktrackingLinesearchState(NamedTuple):
    """State of `scale_by_backtracking_linesearch`, optax's layout.

    Attributes:
      learning_rate: the step size accepted at the last step.
      value: the objective at the accepted point (reused by `value_and_grad_from_state`).
      grad: its gradient if `store_grad=True`, else `None`.
      info: `BacktrackingLinesearchInfo(num_linesearch_steps, decrease_error)`.
    """

    learning_rate: jax.Array
    value: jax.Array
    grad: Updates | None
    info: BacktrackingLinesearchInfo


class _BacktrackingSearch(NamedTuple):
    learning_rate: jax.Array
    new_value: jax.Array
    new_grad: Updates
    decrease_error: jax.Array
    iter_num: jax.Array


def scale_by_backtracking_linesearch(
    max_backtracking_steps: jax.typing.ArrayLike,
    slope_rtol: jax.typing.ArrayLike = 1e-4,
    decrease_factor: jax.typing.ArrayLike = 0.8,
    increase_factor: jax.typing.ArrayLike = 1.5,
    max_learning_rate: jax.typing.ArrayLike = 1.0,
    atol: jax.typing.ArrayLike = 0.0,
    rtol: jax.typing.ArrayLike = 0.0,
    store_grad: bool = False,
    verbose: bool = False,
) -> GradientTransformation:
    r"""Scales updates by a step size with sufficient decrease (Armijo), found by backtracking.

    Finds `eta` with (`f` the objective, `w` the params, `u` the updates)::

        f(w + eta u) <= (1 + rtol) f(w) + eta * slope_rtol * <u, grad f(w)> + atol

    starting from `eta = min(increase_factor * eta_prev, max_learning_rate)`
    and multiplying by `decrease_factor` until the criterion holds (at most
    `max_backtracking_steps` reductions); returns `eta u`. If every tried
    point gave inf/NaN, `eta = 0`. `u` must be a descent direction
    (`<u, grad f(w)> < 0`), e.g. the output of `sgd`.

    `update(updates, state, params, *, value, grad, value_fn, **data)` needs the
    objective: `value = f(params)`, `grad = grad f(params)`, `value_fn = f`, and
    `data` for `f`'s other keyword arguments (an extra argument `f` does not
    take is a `TypeError`, as in optax).

    Args:
      max_backtracking_steps: most reductions of the step size, an integer >= 0.
      slope_rtol: Armijo constant `c` in [0, 1). Default 1e-4.
      decrease_factor: step-size reduction factor in (0, 1). Default 0.8.
      increase_factor: factor >= 1 on the previous step size for the first try
        (inf starts from `max_learning_rate`). Default 1.5.
      max_learning_rate: largest step size tried, > 0. Default 1.0.
      atol: absolute tolerance on the criterion, >= 0. Default 0.
      rtol: relative tolerance on the criterion, >= 0. Default 0.
      store_grad: also compute the gradient at the accepted point and keep it
        in state (for `value_and_grad_from_state`). Default False.
      verbose: print (with `jax.debug.print`) when the search fails. Default False.

    Returns:
      A `GradientTransformation` with state `ScaleByBacktrackingLinesearchState(
      learning_rate, value, grad, info)`, optax's layout.

    References: Armijo, "Minimization of functions having Lipschitz continuous
    first partial derivatives", 1966; Nocedal & Wright, "Numerical Optimization",
    1999, Algorithm 3.1; Vaswani et al., "Painless Stochastic Gradient", 2019.

    Deliberate difference from optax (float32 and float64 results are
    identical): with bfloat16/float16 params, `learning_rate`, `value` and the
    search's scalars are float32 (optax keeps the first leaf's dtype).
    """
    who = "scale_by_backtracking_linesearch"
    checks.non_negative_int(who, "max_backtracking_steps", max_backtracking_steps)
    checks.decay_rate(who, "slope_rtol", slope_rtol)
    checks.positive(who, "decrease_factor", decrease_factor)
    checks.decay_rate(who, "decrease_factor", decrease_factor)
    check_increase_factor(who, increase_factor, above_one=False, allow_inf=True)
    checks.positive(who, "max_learning_rate", max_learning_rate)
    checks.non_negative(who, "atol", atol)
    checks.non_negative(who, "rtol", rtol)

    def init(params):
        val_dtype = linesearch_scalar_dtype(params)
        return ScaleByBacktrackingLinesearchState(
            learning_rate=jnp.array(1.0, val_dtype),
            value=jnp.array(jnp.inf, val_dtype),
            grad=tree_zeros_like(params) if store_grad else None,
            info=BacktrackingLinesearchInfo(
                num_linesearch_steps=zero_count(), decrease_error=jnp.array(jnp.inf, val_dtype)
            ),
        )

    def update(updates, state, params=None, *, value=None, grad=None, value_fn=None, **extra_args):
        value_fn = check_objective_args(who, params, value, grad, value_fn)
        objective = functools.partial(value_fn, **split_value_fn_kwargs(who, value_fn, extra_args))
        scalar_dtype = promoted_dtype(dtype_of(state.learning_rate), jnp.result_type(value))
        hyper = functools.partial(hyperparameter, dtype=scalar_dtype)
        value = jnp.asarray(value).astype(scalar_dtype)
        # Slope of eta -> f(w + eta u) at 0; negative for a descent direction.
        slope = tree_real_vdot(updates, jax.tree.map(jnp.conj, grad)).astype(scalar_dtype)

        def decrease_error_at(stepsize, new_value):
            error = new_value - (1.0 + hyper(rtol)) * value - stepsize * hyper(slope_rtol) * slope
            error = jnp.where(jnp.isnan(error), jnp.inf, error)
            return jnp.maximum(error, 0.0)

        def keep_searching(search):
            return (~(search.decrease_error <= hyper(atol))) & (search.iter_num <= max_backtracking_steps)

        def search_step(search):
            # The first iteration tries the initial guess; later ones shrink it.
            learning_rate = jnp.where(
                search.iter_num > 0, hyper(decrease_factor) * search.learning_rate, search.learning_rate
            )
            candidate = cast_like(tree_add_scale(params, learning_rate, updates), params)
            new_grad = search.new_grad
            if store_grad:
                # Linearize so that the gradient (a transpose) is paid for only at the accepted point.
                raw_value, jvp_fn = jax.linearize(objective, candidate)
                new_value = raw_value.astype(scalar_dtype)
                decrease_error = decrease_error_at(learning_rate, new_value)
                new_grad = jax.lax.cond(
                    (decrease_error <= hyper(atol)) | (search.iter_num == max_backtracking_steps),
                    lambda p: cast_like(jax.linear_transpose(jvp_fn, p)(jnp.ones_like(raw_value))[0], params),
                    lambda p: new_grad,
                    candidate,
                )
            else:
                new_value = jnp.asarray(objective(candidate)).astype(scalar_dtype)
                decrease_error = decrease_error_at(learning_rate, new_value)
            new_search = _BacktrackingSearch(
                learning_rate, new_value, new_grad, decrease_error, search.iter_num + 1
            )
            return cast_like(new_search, search)

        first_guess = jnp.minimum(hyper(increase_factor) * state.learning_rate, hyper(max_learning_rate))
        search = _BacktrackingSearch(
            learning_rate=first_guess,
            new_value=value,
            new_grad=tree_zeros_like(params),
            decrease_error=jnp.array(jnp.inf, scalar_dtype),
            iter_num=zero_count(),
        )
        search = jax.lax.while_loop(keep_searching, search_step, search)
        # An infinite error means every tried point was inf/NaN: do not move.
        new_learning_rate = jnp.where(jnp.isinf(search.decrease_error), 0.0, search.learning_rate)
        if verbose:
            cond_print(
                search.decrease_error > hyper(atol),
                "INFO: gdx.scale_by_backtracking_linesearch:\n"
                "Backtracking linesearch failed to find a stepsize ensuring sufficient decrease.\n"
                "Value at current params: {value},\nSlope along update direction: {slope}\n"
                "Stepsize: {stepsize}\nDecrease Error: {decrease_error}",
                stepsize=search.learning_rate,
                decrease_error=search.decrease_error,
                value=value,
                slope=slope,
            )
            cond_print(
                jnp.isinf(search.decrease_error), "Using a stepsize of 0 to avoid infinite or nan values."
            )
        new_state = ScaleByBacktrackingLinesearchState(
            learning_rate=new_learning_rate,
            value=search.new_value,
            grad=search.new_grad if store_grad else None,
            info=BacktrackingLinesearchInfo(search.iter_num, search.decrease_error),
        )
        scaled_updates = cast_like(tree_scale(new_learning_rate, updates), updates)
        return scaled_updates, cast_like(new_state, state)

    return GradientTransformationExtraArgs(init, update)


# --- reuse of the line search's last evaluation -------------------------------------------


def _value_and_grad_states(state: OptState) -> list[Any]:
    """Every sub-state of `state` with both a `value` and a `grad` field (a line-search state)."""

    def is_line_search_state(node):
        return isinstance(node, tuple) and {"value", "grad"} <= set(getattr(node, "_fields", ()))

    nodes = jax.tree.leaves(state, is_leaf=is_line_search_state)
    return [node for node in nodes if is_line_search_state(node)]


def value_and_grad_from_state(
    value_fn: Callable[..., jax.typing.ArrayLike],
) -> Callable[..., tuple[jax.typing.ArrayLike, Updates]]:
    r"""`jax.value_and_grad(value_fn)` that reuses the value and gradient a line search left in state.

    The returned function `value_and_grad(params, *args, state, **kwargs)`
    returns `(state.value, state.grad)` of the line-search state found in
    `state` when that value is finite (the line search evaluated the objective
    at exactly these params), and `jax.value_and_grad(value_fn)(params, *args,
    **kwargs)` otherwise (the first step, when the stored value is inf). Use it
    for deterministic objectives only (the stored value is for the last data).

    Args:
      value_fn: the objective, returning a scalar; differentiable by `jax.grad`.

    Returns:
      `value_and_grad(params, *fn_args, state, **fn_kwargs) -> (value, grad)`.
      It raises `ValueError` if `state` holds no line-search state (a NamedTuple
      with `value` and `grad` fields) or one whose `grad` is `None`
      (`scale_by_backtracking_linesearch` without `store_grad=True`), and
      `KeyError` if it holds more than one (as optax).

    Deliberate difference from optax: the line-search state is found as the
    one NamedTuple with both `value` and `grad` fields (optax's `tree_get` also
    matches any dict key named "value" or "grad", e.g. in the params), and a
    fresh evaluation is cast to the stored dtypes.

    Example (as optax's)::

        solver = gdx.lbfgs()
        value_and_grad = gdx.value_and_grad_from_state(f)
        value, grad = value_and_grad(params, state=opt_state)
        updates, opt_state = solver.update(grad, opt_state, params, value=value, grad=grad, value_fn=f)
    """
    if not callable(value_fn):
        raise TypeError(f"value_and_grad_from_state: value_fn must be callable, got {value_fn!r}")

    def _value_and_grad(params: Params, *fn_args: Any, state: OptState, **fn_kwargs: Any):
        found = _value_and_grad_states(state)
        if not found:
            raise ValueError(
                "value_and_grad_from_state: value or gradient not found in the state "
                "(no line-search state with `value` and `grad` fields); "
                "make sure the optimizer ends with a line search that stores them"
            )
        if len(found) > 1:  # KeyError, as optax's tree_get on an ambiguous key
            raise KeyError(
                f"value_and_grad_from_state: {len(found)} line-search states with `value` and `grad` "
                "fields in the state, expected exactly one"
            )
        stored = found[0]
        if stored.grad is None:
            raise ValueError(
                "value_and_grad_from_state: the line-search state holds no gradient; "
                "build scale_by_backtracking_linesearch with store_grad=True"
            )

        def compute(p, args, kwargs):
            fresh_value, fresh_grad = jax.value_and_grad(value_fn)(p, *args, **kwargs)
            return cast_like(fresh_value, stored.value), cast_like(fresh_grad, stored.grad)

        return jax.lax.cond(
            (~jnp.isinf(stored.value)) & (~jnp.isnan(stored.value)),
            lambda *_: (stored.value, stored.grad),
            compute,
            params,
            fn_args,
            fn_kwargs,
        )

    return _value_and_grad
