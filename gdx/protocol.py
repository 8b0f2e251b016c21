"""optax's remaining protocol-level names: the extra-args update type, `MaskOrFn`,
`init_empty_state` and `stateless_with_tree_map`.

`TransformInitFn` and `TransformUpdateFn` live in `gdx.core` with
`GradientTransformation`; every gdx `update` already has the extra-args form.
"""

from collections.abc import Callable
from typing import Any, Protocol

import jax

from gdx.core import EmptyState, GradientTransformation, OptState, Params, Updates

MaskOrFn = Any | Callable[[Params], Any] | None
"""A mask (a pytree of bools with the params' structure), a function `params -> mask`, or None."""


class TransformUpdateExtraArgsFn(Protocol):
    """`update(updates, state, params=None, **extra_args) -> (updates, state)`.

    The update of a transformation that takes extra keyword arguments (e.g.
    `value=` the loss). Implementations accept and ignore the extra arguments
    they do not use; one that needs an argument takes it keyword-only
    (`def update(updates, state, params=None, *, value, **extra_args)`), so a
    missing one is an explicit error. Every gdx `update` has this form.
    """

    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, OptState]: ...


def init_empty_state(params: Params) -> EmptyState:
    """The `init` of a stateless transformation: ignores `params`, returns `EmptyState()`."""
    del params
    return EmptyState()


def stateless_with_tree_map(
    f: Callable[[jax.typing.ArrayLike, jax.typing.ArrayLike | None], jax.typing.ArrayLike],
) -> GradientTransformation:
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

    return GradientTransformation(init_empty_state, update)
