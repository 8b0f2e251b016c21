"""optax's top-level tree math: moment updates, bias correction, Polyak and periodic parameter copies.

`update_moment`, `update_moment_per_elem_norm` and `bias_correction` are the
public faces of the helpers in `gdx._tree` that every gdx transformation uses;
each computes, operation for operation, what `optax.<name>` computes, with
the promotions written out so the code is valid under strict dtype promotion.
Results have the dtype optax's standard promotion gives.
"""

import jax
import jax.numpy as jnp

from gdx import _tree
from gdx._tree import is_none, promoted
from gdx.core import Params, Updates


def update_moment(updates: Updates, moments: Updates, decay: jax.typing.ArrayLike, order: int) -> Updates:
    """Exponential moving average of the `order`-th power of the updates, leaf by leaf.

    Update rule: `m <- (1 - decay) * g**order + decay * m` (`None` leaves stay `None`).

    Args:
      updates: the new terms `g`, a pytree.
      moments: the running averages `m`, same structure.
      decay: the weight of the past, usually in [0, 1).
      order: the power of `g` (1: mean, 2: uncentred variance).

    Returns:
      The new moments (in the standard-promoted dtype of `g` and `m`, as optax).

    References:
      Kingma & Ba, Adam: A Method for Stochastic Optimization, ICLR 2015.
      https://arxiv.org/abs/1412.6980
    """
    return _tree.update_moment(updates, moments, decay, order)


def update_moment_per_elem_norm(
    updates: Updates, moments: Updates, decay: jax.typing.ArrayLike, order: int
) -> Updates:
    """Exponential moving average of `|g|**order`, the element-wise norm (complex-aware).

    Update rule: `v <- (1 - decay) * |g|**order + decay * v`, with
    `|g|**order = g**order` for real `g` and `(conj(g) * g).real**(order / 2)` for complex `g`.

    Args:
      updates: the new terms `g`, a pytree (real or complex leaves).
      moments: the running averages `v`, same structure, real.
      decay: the weight of the past, usually in [0, 1).
      order: the power of `|g|`.

    Returns:
      The new moments.

    References:
      Kingma & Ba, Adam: A Method for Stochastic Optimization, ICLR 2015.
      https://arxiv.org/abs/1412.6980
    """
    return _tree.update_moment_per_elem_norm(updates, moments, decay, order)


def update_infinity_moment(
    updates: Updates, moments: Updates, decay: jax.typing.ArrayLike, eps: jax.typing.ArrayLike
) -> Updates:
    """Exponentially weighted infinity norm of the updates (Adamax's second moment).

    Update rule: `u <- max(|g| + eps, decay * u)`, leaf by leaf (`None` leaves stay `None`).

    Args:
      updates: the new terms `g`, a pytree.
      moments: the running maxima `u`, same structure.
      decay: the weight of the past, usually in [0, 1).
      eps: added to `|g|`, >= 0.

    Returns:
      The new moments.

    References:
      Kingma & Ba, Adam: A Method for Stochastic Optimization (Section 7.1), ICLR 2015.
      https://arxiv.org/abs/1412.6980
    """

    def leaf(g, u):
        if g is None:
            return None
        return promoted(jnp.maximum, promoted(jnp.add, jnp.abs(g), eps), promoted(jnp.multiply, decay, u))

    return jax.tree.map(leaf, updates, moments, is_leaf=is_none)


def bias_correction(moment: Updates, decay: jax.typing.ArrayLike, count: jax.Array) -> Updates:
    """Divides a zero-initialised moving average by `1 - decay**count` to remove its bias.

    Update rule: `m_hat = m / (1 - decay**count)`; `decay**count` is computed in float32
    (so it does not round to 1 in low precision), the division in each leaf's dtype.

    Args:
      moment: the moving average, a pytree.
      decay: its decay rate, in [0, 1).
      count: the int32 number of updates averaged so far, >= 1.

    Returns:
      The bias-corrected moment, with the dtypes of `moment`.

    References:
      Kingma & Ba, Adam: A Method for Stochastic Optimization (Section 3), ICLR 2015.
      https://arxiv.org/abs/1412.6980
    """
    return _tree.bias_correction(moment, decay, jnp.asarray(count))


def incremental_update(new_tensors: Params, old_tensors: Params, step_size: jax.typing.ArrayLike) -> Params:
    """Polyak averaging: a moving average of parameters, for evaluation or target networks.

    Update rule: `old <- step_size * new + (1 - step_size) * old`, leaf by leaf.

    Args:
      new_tensors: the latest value of the tensors.
      old_tensors: the moving average so far, same structure.
      step_size: the weight of the new value, in [0, 1].

    Returns:
      The updated moving average (in the standard-promoted dtype of each pair, as optax).

    References:
      Polyak & Juditsky, Acceleration of Stochastic Approximation by Averaging, SIAM J. Control
      Optim. 1992. https://epubs.siam.org/doi/10.1137/0330046
    """

    def leaf(new, old):
        if new is None:
            return None
        fresh = promoted(jnp.multiply, step_size, new)
        kept = promoted(jnp.multiply, 1.0 - step_size, old)
        return promoted(jnp.add, fresh, kept)

    return jax.tree.map(leaf, new_tensors, old_tensors, is_leaf=is_none)


def periodic_update(
    new_tensors: Params,
    old_tensors: Params,
    steps: jax.typing.ArrayLike,
    update_period: jax.typing.ArrayLike,
) -> Params:
    """A slow copy of the parameters, refreshed every `update_period` steps (target networks).

    Update rule: `old <- new if steps % update_period == 0 else old`.

    Args:
      new_tensors: the latest value of the tensors.
      old_tensors: the slow copy, same structure and dtypes.
      steps: the number of updates of the online network (an int32 array or int).
      update_period: refresh period, an integer >= 1.

    Returns:
      `new_tensors` or `old_tensors`.

    References:
      Mnih et al., Human-level control through deep reinforcement learning, Nature 2015.
      https://www.nature.com/articles/nature14236
    """
    return jax.lax.cond(
        jnp.mod(steps, update_period) == 0,
        lambda _: new_tensors,
        lambda _: old_tensors,
        None,
    )
