"""Reset part of an optimizer state to its initial value (`reset_substate`, gdx only; optax #1371)."""

from collections.abc import Callable
from typing import Any

import jax

from gdx.core import GradientTransformation, OptState, Params


def _as_predicate(where: Any) -> tuple[Callable[[Any, Any], bool], str]:
    """`where` -> `(predicate(path, node), description)`."""
    if isinstance(where, type):
        return (lambda path, node: isinstance(node, where)), f"instances of {where.__name__}"
    if callable(where):
        return (lambda path, node: bool(where(node))), f"nodes where {where!r} is True"
    target = where if isinstance(where, str) else jax.tree_util.keystr(tuple(where))
    return (lambda path, node: jax.tree_util.keystr(path) == target), f"the node at {target!r}"


def reset_substate(
    tx: GradientTransformation,
    state: OptState,
    params: Params,
    where: str | tuple[Any, ...] | type | Callable[[Any], bool],
) -> OptState:
    """Returns `state` with the sub-states chosen by `where` replaced by their `tx.init(params)` value.

    E.g. restart Adam's moments after a change of data or a loss spike,
    keep everything else (schedules' step counts, other members of a chain)::

        state = gdx.reset_substate(tx, state, params, gdx.ScaleByAdamState)
        state = gdx.reset_substate(tx, state, params, "[0].mu")   # only the first moment

    Pure (it builds a fresh state with `tx.init(params)` and picks from it),
    so it also runs under `jit`; the result has the structure and dtypes of `state`.

    Args:
      tx: the transformation `state` belongs to.
      state: its current state.
      params: the current params (the initial value of a sub-state may depend
        on them: zeros of their shape, a copy of them, ...).
      where: which sub-states to reset, one of

        * a key path string as `jax.tree_util.keystr` prints it
          (`"[0]"`, `"[0].mu"`, `".inner_states['adam']"`), or the key path itself;
        * a state class (`gdx.ScaleByAdamState`): every instance of it;
        * a predicate `node -> bool`: every node (sub-state or array) where it is True.

    Returns:
      The new state.

    Raises:
      ValueError: if `where` selects nothing (the message lists the state's leaf paths).
    """
    predicate, description = _as_predicate(where)
    fresh = tx.init(params)
    matched = []

    def is_selected(path, node):
        selected = predicate(path, node)
        if selected:
            matched.append(path)
        return selected

    def pick(path, current, initial):
        return initial if is_selected(path, current) else current

    new_state = jax.tree_util.tree_map_with_path(
        pick, state, fresh, is_leaf=lambda path, node: predicate(path, node), is_leaf_takes_path=True
    )
    if not matched:
        leaves, _ = jax.tree_util.tree_flatten_with_path(state)
        paths = [jax.tree_util.keystr(path) for path, _ in leaves]
        raise ValueError(
            f"reset_substate: {description} selects nothing in the state; its leaves are at "
            f"{paths[:20]}{' ...' if len(paths) > 20 else ''}"
        )
    return new_state
