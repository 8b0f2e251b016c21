"""Sign-based steps: signSGD (`scale_by_sign`), Rprop (`scale_by_rprop`) and Lion (`scale_by_lion`)."""

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import canonical_dtype, cast_like, is_none, promoted, tree_zeros_like
from gdx._common.moments import safe_increment, zero_count
from gdx.core import (
    EmptyState,
    GradientTransformation,
    GradientTransformationExtraArgs,
    Updates,
    record_structure,
)


class ScaleByLionState(NamedTuple):
    """State of `scale_by_lion`: the int32 step count and the momentum, one leaf per param."""

    count: jax.Array
    mu: Any


@docs.shared_args
def scale_by_lion(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.99,
    mu_dtype: Any | None = None,
    *,
    mode: Literal["hard", "smooth", "refined"] = "hard",
    smooth_beta: float = 1.0,
) -> GradientTransformation:
    """Rescales updates by the Lion rule: the sign of an interpolated momentum.

    Update rule::

        c  = (1 - b1) * g + b1 * mu
        u  = sign(c)                    # mode="hard"
             tanh(smooth_beta * c)      # mode="smooth"
             c if |c| < 1 else sign(c)  # mode="refined"
        mu <- (1 - b2) * g + b2 * mu

    Args:
      b1, b2, mu_dtype: {lion}
      mode: `"hard"` (default, the paper's sign), `"smooth"` or `"refined"`.
      smooth_beta: the tanh sharpness for `mode="smooth"` (default 1.0).

    Returns:
      A `GradientTransformation` with state `ScaleByLionState(count, mu)`, as
      `optax.scale_by_lion`.

    References:
      Chen et al., Symbolic Discovery of Optimization Algorithms, 2023
      (https://arxiv.org/abs/2302.06675).
    """
    checks.decay_rate("scale_by_lion", "b1", b1)
    checks.decay_rate("scale_by_lion", "b2", b2)
    checks.one_of("scale_by_lion", "mode", mode, ("hard", "smooth", "refined"))
    checks.finite("scale_by_lion", "smooth_beta", smooth_beta)
    mu_dtype = canonical_dtype(mu_dtype)

    def lion_direction(g, mu):
        interpolated = promoted(jnp.add, promoted(jnp.multiply, 1.0 - b1, g), promoted(jnp.multiply, b1, mu))
        if mode == "hard":
            direction = jnp.sign(interpolated)
        elif mode == "smooth":
            direction = jnp.tanh(smooth_beta * interpolated)
        else:  # "refined": linear near zero, the sign beyond |c| = 1
            direction = jnp.where(jnp.abs(interpolated) < 1.0, interpolated, jnp.sign(interpolated))
        return direction.astype(g.dtype)

    def momentum(g, mu):
        # Same operations, in the same order, as optax.tree.update_moment(order=1).
        return promoted(jnp.add, promoted(jnp.multiply, 1 - b2, g**1), promoted(jnp.multiply, b2, mu))

    def init(params):
        return ScaleByLionState(count=zero_count(), mu=tree_zeros_like(params, mu_dtype))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who="scale_by_lion", what="state.mu")
        new_updates = jax.tree.map(
            lambda g, m: None if g is None else lion_direction(g, m), updates, state.mu, is_leaf=is_none
        )
        mu = jax.tree.map(
            lambda g, m: None if g is None else momentum(g, m), updates, state.mu, is_leaf=is_none
        )
        mu = cast_like(mu, state.mu)
        return new_updates, ScaleByLionState(count=safe_increment(state.count), mu=mu)

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


def scale_by_sign() -> GradientTransformation:
    """Replaces each update by its sign: `u <- sign(g)` (-1, 0 or 1; `g / |g|` for complex `g`).

    Returns:
      A stateless `GradientTransformation` (state `EmptyState()`).

    Reference: Bernstein et al., "signSGD: Compressed Optimisation for
    Non-Convex Problems", ICML 2018 (https://arxiv.org/abs/1802.04434).
    """

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(jnp.sign, updates), state

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


class ScaleByRpropState(NamedTuple):
    """State of `scale_by_rprop`: the per-coordinate step sizes and the previous signed steps."""

    step_sizes: Updates
    prev_updates: Updates


def _number(who: str, name: str, value: Any) -> None:
    if callable(value):
        raise TypeError(f"{who}: {name} must be a number, not a schedule, got {value!r}")


def validate_rprop_args(
    who: str, learning_rate: Any, eta_minus: Any, eta_plus: Any, min_step_size: Any, max_step_size: Any
) -> None:
    """The construction-time checks of `scale_by_rprop` and `rprop`, naming `who` in the error."""
    _number(who, "learning_rate", learning_rate)
    checks.learning_rate(who, learning_rate)
    checks.all_of(who, "eta_minus", eta_minus, checks.positive, checks.closed_unit)
    checks.finite(who, "eta_plus", eta_plus)
    plus = checks.concrete_number(eta_plus)
    if plus is not None and plus < 1:
        raise ValueError(checks.message(who, "eta_plus", f"must be >= 1, got {eta_plus!r}"))
    checks.non_negative(who, "min_step_size", min_step_size)
    checks.positive(who, "max_step_size", max_step_size)
    low, high = checks.concrete_number(min_step_size), checks.concrete_number(max_step_size)
    if low is not None and high is not None and low > high:
        raise ValueError(
            checks.message(
                who, "max_step_size", f"must be >= min_step_size ({min_step_size!r}), got {max_step_size!r}"
            )
        )


@docs.shared_args
def scale_by_rprop(
    learning_rate: jax.typing.ArrayLike,
    eta_minus: jax.typing.ArrayLike = 0.5,
    eta_plus: jax.typing.ArrayLike = 1.2,
    min_step_size: jax.typing.ArrayLike = 1e-6,
    max_step_size: jax.typing.ArrayLike = 50.0,
) -> GradientTransformation:
    """Rescales updates by Rprop: a per-coordinate step size grown or shrunk by the gradient's sign.

    Update rule (iRprop-; `prev` is the previous signed step, 0 at the start)::

        s = g * prev
        step_sizes <- step_sizes                                       where s == 0
                      clip(step_sizes * (eta_plus if s > 0 else eta_minus),
                           min_step_size, max_step_size)               elsewhere
        new_prev = 0 where s < 0 else step_sizes * sign(g)
        u <- 0 where s < 0 else prev                                   # optax: the previous step
        prev <- new_prev

    As in optax 0.2.8, the step returned is the one computed at the previous
    call (so the first update is 0, and every step is applied one call later
    than in the paper, which applies `new_prev` at once). Use `scale(-1.0)`
    after it (as `rprop` does) for descent.

    Args:
      learning_rate, eta_minus, eta_plus, min_step_size, max_step_size: {rprop}

    Returns:
      A `GradientTransformation` with state `ScaleByRpropState(step_sizes, prev_updates)`.

    References: Riedmiller & Braun, "A Direct Adaptive Method for Faster
    Backpropagation Learning: The RPROP Algorithm", ICNN 1993; Igel & Hüsken,
    "Empirical evaluation of the improved Rprop learning algorithms", 2003.
    """
    who = "scale_by_rprop"
    validate_rprop_args(who, learning_rate, eta_minus, eta_plus, min_step_size, max_step_size)

    def new_step_size(s, step_size):
        factor = jnp.where(s > 0, eta_plus, eta_minus)
        grown = promoted(jnp.clip, promoted(jnp.multiply, step_size, factor), min_step_size, max_step_size)
        return jnp.where(s == 0, step_size, grown.astype(step_size.dtype))

    def signed_step(s, g, step_size):
        step = promoted(jnp.multiply, step_size, jnp.sign(g))
        return jnp.where(s < 0, jnp.zeros_like(step), step)

    def init(params):
        for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
            if jnp.iscomplexobj(leaf):  # sign agreement `g * prev > 0` needs an order (optax: a clip error)
                raise TypeError(
                    f"{who}: complex params are not supported (Rprop compares gradient signs), got "
                    f"{jnp.result_type(leaf)} at {jax.tree_util.keystr(path) or '<root>'}; optimize the "
                    "real and imaginary parts as two real params"
                )
        step_sizes = jax.tree.map(lambda x: jnp.full_like(x, learning_rate), params)
        return ScaleByRpropState(step_sizes=step_sizes, prev_updates=tree_zeros_like(params))

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.step_sizes, who=who, what="state.step_sizes")
        sign_agreement = jax.tree.map(
            lambda g, prev: promoted(jnp.multiply, g, prev), updates, state.prev_updates
        )
        step_sizes = jax.tree.map(new_step_size, sign_agreement, state.step_sizes)
        prev_updates = jax.tree.map(signed_step, sign_agreement, updates, step_sizes)
        new_updates = jax.tree.map(
            lambda s, prev, g: jnp.where(s < 0, jnp.zeros_like(prev), prev).astype(g.dtype),
            sign_agreement,
            state.prev_updates,
            updates,
        )
        return new_updates, ScaleByRpropState(
            step_sizes=step_sizes, prev_updates=cast_like(prev_updates, state.prev_updates)
        )

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)
