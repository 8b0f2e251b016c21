"""Sharpness-aware minimization as a wrapper of an outer and an adversarial optimizer (`sam`)."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    Updates,
    apply_updates,
    with_extra_args_support,
)


class SAMState(NamedTuple):
    """State of `sam` (fields in optax's order).

    Attributes:
      steps_since_sync: int32, adversarial steps taken since the last outer update.
      opt_state: the outer optimizer's state.
      adv_state: the adversarial optimizer's state.
      cache: the params of the last outer update (`None` in opaque mode).
    """

    steps_since_sync: jax.Array
    opt_state: OptState
    adv_state: OptState
    cache: Params | None


def _pick(condition: jax.Array, if_true: Any, if_false: Any) -> Any:
    """`condition * a + (1 - condition) * b` leaf by leaf, optax's arithmetic for a selection.

    optax blends instead of selecting; a `where` gives the same value for finite
    leaves but a different XLA program, whose fusion changes the rounding of
    the surrounding arithmetic under `jit`. The flag is cast to each operand's
    dtype, as standard promotion of a bool does. Bool leaves are selected
    (optax would turn them into integers).
    """

    def blend(a: Any, b: Any) -> Any:
        a, b = jnp.asarray(a), jnp.asarray(b)
        if a.dtype == jnp.bool_ and b.dtype == jnp.bool_:
            return jnp.where(condition, a, b)
        kept = promoted(jnp.multiply, condition.astype(a.dtype), a)
        other = promoted(jnp.multiply, jnp.logical_not(condition).astype(b.dtype), b)
        return promoted(jnp.add, kept, other)

    return jax.tree.map(blend, if_true, if_false)


def sam(
    optimizer: GradientTransformation,
    adv_optimizer: GradientTransformation,
    sync_period: int = 2,
    reset_state: bool = True,
    opaque_mode: bool = False,
    batch_axis_name: str | None = None,
) -> GradientTransformation:
    r"""Sharpness-aware minimization (SAM): descend with the gradient taken at an adversarial point.

    Update rule with `sync_period = k` (the paper's SAM is `k = 2` with
    `adv_optimizer = chain(normalize(), sgd(rho))`, i.e. `y = p + rho * g / ||g||`)::

        y_0 = p;  y_{i+1} = y_i - adv_optimizer(g(y_i))     for i < k - 1   (an ascent step)
        p <- p + optimizer(g(y_{k-1}))                      evaluated at the cached p

    Non-opaque mode (default): each `update` call is one of those `k` steps and
    returns the update that moves the params there, so the training loop is
    unchanged; every `k`-th call is the real (outer) step, which also undoes
    the adversarial moves. Evaluate or checkpoint right after an outer step
    (`state.steps_since_sync == 0`), or use the cached params `state.cache`::

        tx = gdx.sam(gdx.sgd(0.1), gdx.chain(gdx.normalize(), gdx.sgd(0.05)), sync_period=2)
        for batch in batches:               # 2 calls per SAM step
            grads = jax.grad(loss)(params, batch)
            updates, state = tx.update(grads, state, params)
            params = gdx.apply_updates(params, updates)

    Opaque mode (`opaque_mode=True`): each call does a whole SAM step; it needs
    `grad_fn(params, i) -> grads` as an extra argument and calls it `k - 1`
    times (`i` = adversarial step, e.g. to pick a batch). Use it when calls to
    `update` have side effects (BatchNorm statistics)::

        grad_fn = jax.grad(lambda p, i: loss(p, batch))
        updates, state = tx.update(jax.grad(loss)(params, batch), state, params, grad_fn=grad_fn)

    Args:
      optimizer: the outer optimizer (its updates move the real params).
      adv_optimizer: the adversarial optimizer; its updates are *negated*, so
        a descent optimizer such as `sgd(rho)` becomes an ascent step.
      sync_period: calls per outer step, an integer >= 1. Default 2.
      reset_state: re-initialize the adversarial optimizer's state after each
        outer step. Default True.
      opaque_mode: run the adversarial steps inside one `update` call. Default False.
      batch_axis_name: opaque mode under `pmap`: the axis name to `pmean` the
        adversarial gradients over. Default None.

    Returns:
      A `GradientTransformation` with state `SAMState(steps_since_sync,
      opt_state, adv_state, cache)`, as `optax.contrib.sam`. `update` needs
      `params`. Other extra arguments (`value=`, ...) reach both optimizers.

    The step is chosen as optax chooses it, `cond * a + (1 - cond) * b` (so the
    numbers are optax's bit for bit, jitted or not); as in optax, a NaN or inf
    in the branch not taken therefore reaches the result. (gdx's `normalize`
    maps an all-zero gradient to zero, not 0/0, so SAM's usual adversary does
    not produce one.)

    Reference: Foret, Kleiner, Mobahi & Neyshabur, "Sharpness-Aware Minimization
    for Efficiently Improving Generalization", ICLR 2021.
    """
    who = "sam"
    checks.positive_int(who, "sync_period", sync_period)
    optimizer = with_extra_args_support(optimizer)
    adv_optimizer = with_extra_args_support(adv_optimizer)

    def init(params):
        return SAMState(
            steps_since_sync=jnp.zeros([], jnp.int32),
            opt_state=optimizer.init(params),
            adv_state=adv_optimizer.init(params),
            cache=None if opaque_mode else params,
        )

    def negate(tree):
        return jax.tree.map(jnp.negative, tree)

    def transparent_update(updates, state, params, **extra_args):
        first_step = state.steps_since_sync == 0
        last_step = state.steps_since_sync == sync_period - 1
        adv_updates, adv_state = adv_optimizer.update(updates, state.adv_state, params, **extra_args)
        adv_updates = negate(adv_updates)
        opt_updates, opt_state = optimizer.update(updates, state.opt_state, state.cache, **extra_args)
        # The outer update applies to the cached params: undo the adversarial moves first.
        opt_updates = jax.tree.map(
            lambda c, p, u: promoted(jnp.add, promoted(jnp.subtract, c, p), u).astype(u.dtype),
            state.cache,
            params,
            opt_updates,
        )
        cache = _pick(first_step, params, state.cache)
        new_updates = _pick(last_step, opt_updates, adv_updates)
        if reset_state:
            adv_state = _pick(last_step, adv_optimizer.init(params), adv_state)
        else:
            adv_state = _pick(last_step, state.adv_state, adv_state)
        opt_state = _pick(last_step, opt_state, state.opt_state)
        steps_since_sync = (state.steps_since_sync + 1) % sync_period
        return new_updates, SAMState(steps_since_sync, opt_state, adv_state, cache)

    def opaque_update(updates, state, params, grad_fn, **extra_args):
        if grad_fn is None:
            raise ValueError("sam: opaque_mode=True needs grad_fn: call update(..., grad_fn=fn(params, i))")
        adv_params, adv_updates, adv_state = params, updates, state.adv_state
        for i in range(sync_period - 1):
            adv_updates, adv_state = adv_optimizer.update(adv_updates, adv_state, adv_params, **extra_args)
            adv_params = apply_updates(adv_params, negate(adv_updates))
            adv_updates = grad_fn(adv_params, i)
            if batch_axis_name is not None:
                adv_updates = jax.lax.pmean(adv_updates, axis_name=batch_axis_name)
        if reset_state:
            adv_state = adv_optimizer.init(params)
        new_updates, opt_state = optimizer.update(adv_updates, state.opt_state, params, **extra_args)
        return new_updates, SAMState(jnp.zeros([], jnp.int32), opt_state, adv_state, None)

    def update(
        updates: Updates,
        state: SAMState,
        params: Params | None = None,
        *,
        grad_fn: Callable[[Params, int], Updates] | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, SAMState]:
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params)")
        if opaque_mode:
            return opaque_update(updates, state, params, grad_fn, **extra_args)
        return transparent_update(updates, state, params, **extra_args)

    return GradientTransformationExtraArgs(init, update)
