"""optax's remaining protocol-level names: `MaskOrFn`, `init_empty_state` and
`stateless_with_tree_map` (`TransformUpdateExtraArgsFn` lives in `gdx.core`).
"""

from collections.abc import Callable
from typing import Any

import jax

from gdx.core import EmptyState, GradientTransformationExtraArgs, Params

MaskOrFn = Any | Callable[[Params], Any] | None
"""A mask (a pytree of bools with the params' structure), a function `params -> mask`, or None."""


def init_empty_state(params: Params) -> EmptyState:
    """The `init` of a stateless transformation: ignores `params`, returns `EmptyState()`."""
    del params
    return EmptyState()


def stateless_with_tree_map(
    f: Callable[[jax.typing.ArrayLike, jax.typing.ArrayLike | None], jax.typing.ArrayLike],
) -> GradientTransformationExtraArgs:
    """Builds a stateless transformation from a per-array function `f(update, param) -> update`.

    Update rule, leaf by leaf: `u <- f(u, p)`, or `u <- f(u, None)` when `update` is
    called without params. State: `EmptyState()`.

    Args:
      f: maps one update array and its param array (or None) to the new update array.

    Returns:
      A `GradientTransformation` (extra arguments to `update` are accepted and ignored).
    """

    def update(updates, state, params=None, **extra_args):
        del state, extra_args
        if params is None:
            return jax.tree.map(lambda u: f(u, None), updates), EmptyState()
        return jax.tree.map(f, updates, params), EmptyState()

    return GradientTransformationExtraArgs(init_empty_state, update)
