"""Reading and writing values anywhere in a nested optimizer state (`gdx.tree_utils.tree_get`, ...).

`tree_get(state, "learning_rate")` finds the entry named `learning_rate` (a
dict key or a `NamedTuple` field) wherever it sits in the state, e.g. inside
the `InjectStatefulHyperparamsState` of an `inject_hyperparams` nested in a
chain; `tree_set(state, learning_rate=...)` returns a copy with it replaced.
A key can also be the name of a `NamedTuple` class (`"ScaleByAdamState"`),
which then stands for the whole state of that class.

Paths are tuples of jax key entries, with `NamedTupleKey(tuple_name, name)`
for the fields of named tuples, so a `filtering(path, value)` function can
tell apart equal field names in different states (two `count` fields in a chain).
"""

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol, Union, runtime_checkable

import jax

from gdx.core import OptState, Params


@dataclasses.dataclass(frozen=True)
class NamedTupleKey:
    """Path entry for the field `name` of a `NamedTuple` of class `tuple_name`.

    Printed as `ScaleByAdamState.mu`; compare `tuple_name` in a `filtering`
    function to pick one state among several with the same field names.
    """

    tuple_name: str
    name: str

    def __str__(self) -> str:
        return f"{self.tuple_name}.{self.name}"


KeyEntry = Union[  # noqa: UP007 - a runtime alias, spelled as optax spells it
    jax.tree_util.DictKey,
    jax.tree_util.FlattenedIndexKey,
    jax.tree_util.GetAttrKey,
    jax.tree_util.SequenceKey,
    NamedTupleKey,
]
KeyPath = tuple[KeyEntry, ...]
Filtering = Callable[[KeyPath, Any], bool]


def _is_named_tuple(node: Any) -> bool:
    return isinstance(node, tuple) and hasattr(node, "_fields")


def _has_any_key(node: Any, keys: tuple[Any, ...]) -> bool:
    """Whether `node` is a dict with one of `keys`, or a named tuple with such a field or class name."""
    if _is_named_tuple(node):
        return any(key in node._fields or key == type(node).__name__ for key in keys)
    return isinstance(node, dict) and any(key in node for key in keys)


def _children_with_path(path: KeyPath, node: Any) -> list[tuple[KeyPath, Any]]:
    if _is_named_tuple(node):
        name = type(node).__name__
        return [((*path, NamedTupleKey(name, field)), getattr(node, field)) for field in node._fields]
    if isinstance(node, dict):
        return [((*path, jax.tree_util.DictKey(key)), value) for key, value in node.items()]
    raise ValueError(f"tree_utils: a subtree holding a key must be a dict or a NamedTuple, got {type(node)}")


def _leaves_with_named_path(tree: Any, stop: Callable[[Any], bool]) -> list[tuple[KeyPath, Any]]:
    """`jax.tree_util.tree_leaves_with_path`, but stopping at `stop(node)` and naming named tuples.

    The fields of a named tuple get a `NamedTupleKey` (with the class name)
    instead of jax's bare index.
    """
    found = []
    nodes = jax.tree_util.tree_leaves_with_path(tree, is_leaf=lambda x: stop(x) or _is_named_tuple(x))
    for path, node in nodes:
        if stop(node) or not _is_named_tuple(node):
            found.append((path, node))
            continue
        for field in node._fields:
            entry = NamedTupleKey(type(node).__name__, field)
            found += [
                ((*path, entry, *sub), leaf)
                for sub, leaf in _leaves_with_named_path(getattr(node, field), stop)
            ]
    return found


def _value_at(path: KeyPath, node: Any, key: Any) -> tuple[KeyPath, Any]:
    if _is_named_tuple(node):
        if key == type(node).__name__:
            return path, node
        return (*path, NamedTupleKey(type(node).__name__, key)), getattr(node, key)
    return (*path, jax.tree_util.DictKey(key)), node[key]


def _all_with_path(tree: Any, key: Any) -> list[tuple[KeyPath, Any]]:
    holds_key = lambda node: _has_any_key(node, (key,))
    holders = [(path, node) for path, node in _leaves_with_named_path(tree, holds_key) if holds_key(node)]
    found = [_value_at(path, node, key) for path, node in holders]
    for path, node in holders:  # the key may appear again deeper down
        for child_path, child in _children_with_path(path, node):
            found += [((*child_path, *sub), value) for sub, value in _all_with_path(child, key)]
    return found


def tree_get_all_with_path(
    tree: Any, key: Any, filtering: Filtering | None = None
) -> list[tuple[KeyPath, Any]]:
    """Every `(path, value)` in `tree` whose dict key, NamedTuple field or NamedTuple class name is `key`.

    Args:
      tree: the pytree to search (e.g. an optimizer state).
      key: a dict key, a field name (`"learning_rate"`, `"count"`) or a
        NamedTuple class name (`"ScaleByAdamState"`).
      filtering: optional `filtering(path, value) -> bool` keeping only some
        matches; `path` ends with a `NamedTupleKey` for named-tuple fields. Default None.

    Returns:
      The list of `(path, value)` pairs, outer matches first; format a path with
      `jax.tree_util.keystr(path)`.
    """
    found = _all_with_path(tree, key)
    if filtering is not None:
        found = [(path, value) for path, value in found if filtering(path, value)]
    return found


def tree_get(tree: Any, key: Any, default: Any | None = None, filtering: Filtering | None = None) -> Any:
    """The one value in `tree` under `key` (dict key, NamedTuple field or class name), else `default`.

    Example: `tree_get(state, "learning_rate")` on the state of
    `inject_hyperparams(adam)(learning_rate=...)` inside a chain, or
    `tree_get(state, "count", filtering=lambda path, _: path[-1].tuple_name == "ScaleByAdamState")`.

    Args:
      tree: the pytree to search.
      key: what to look for (see `tree_get_all_with_path`).
      default: returned when nothing matches. Default None.
      filtering: optional `filtering(path, value) -> bool` to discard matches. Default None.

    Returns:
      The value found, or `default`.

    Raises:
      KeyError: if several values match (narrow them with `filtering`).
    """
    found = tree_get_all_with_path(tree, key, filtering=filtering)
    if len(found) > 1:
        paths = ", ".join(jax.tree_util.keystr(path) for path, _ in found)
        raise KeyError(
            f"tree_get: found {len(found)} values for {key!r} (at {paths}); pass filtering= to pick one"
        )
    return found[0][1] if found else default


def tree_set(tree: Any, filtering: Filtering | None = None, /, **kwargs: Any) -> Any:
    """A copy of `tree` with the values under each keyword's name replaced by its value.

    Example: `tree_set(state, learning_rate=jnp.asarray(1e-4))` changes an
    injected hyperparameter between steps (pass an array of the stored dtype
    to keep the jit cache).

    Every match that `tree_get_all_with_path` finds is replaced. optax 0.2.8
    misses the matches inside a tuple held by a state that itself matches
    (`tree_set(state, count=...)` on an `inject_hyperparams(adam)` state
    changes the outer count, not Adam's), and turns a replaced `OrderedDict`
    (the state of `named_chain`) into a dict; gdx does neither.

    Args:
      tree: the pytree to copy (it is not modified).
      filtering: optional positional `filtering(path, value) -> bool`; only
        matches it accepts are replaced. Default None.
      **kwargs: `key=new_value` pairs; a key is a dict key, NamedTuple field or
        NamedTuple class name.

    Returns:
      The new pytree, with the structure of `tree` except at the replaced entries.

    Raises:
      KeyError: if a key matches nothing (or nothing `filtering` accepts).
    """
    for key in kwargs:
        if not tree_get_all_with_path(tree, key, filtering):
            detail = " that the filtering accepts" if filtering is not None else ""
            raise KeyError(f"tree_set: found no value for {key!r}{detail} in the tree")
    keys = tuple(kwargs)
    holds_key = lambda node: _has_any_key(node, keys)

    def accepted(path: KeyPath, value: Any) -> bool:
        return filtering is None or filtering(path, value)

    def replace_in(path: KeyPath, subtree: Any) -> Any:
        _, treedef = jax.tree.flatten(subtree, is_leaf=holds_key)
        nodes = _leaves_with_named_path(subtree, holds_key)
        return treedef.unflatten([replace_at((*path, *sub), node) for sub, node in nodes])

    def replace_at(path: KeyPath, node: Any) -> Any:
        if not holds_key(node):
            return node
        if _is_named_tuple(node) and type(node).__name__ in kwargs and accepted(path, node):
            return kwargs[type(node).__name__]
        children = {}
        for child_path, child in _children_with_path(path, node):
            entry = child_path[-1]
            name = entry.name if isinstance(entry, NamedTupleKey) else entry.key  # type: ignore[union-attr]
            if name in kwargs and accepted(child_path, child):
                children[name] = kwargs[name]
            else:
                children[name] = replace_in(child_path, child)
        if _is_named_tuple(node):
            return node._replace(**children)
        new_node = node.copy()  # keeps the dict's class (OrderedDict of named_chain) and key order
        new_node.update(children)
        return new_node

    return replace_in((), tree)


@jax.tree_util.register_pytree_node_class
class _ParamsPlaceholder:
    """A childless pytree node standing for the params when an `init` is traced for its structure."""

    def tree_flatten(self):
        return (), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        del aux, children
        return cls()


@runtime_checkable
class Initable(Protocol):
    """An object with an `init(params) -> state` method (a `GradientTransformation`)."""

    def init(self, params: Params) -> OptState: ...


def tree_map_params(
    initable: Callable[[Params], OptState] | Initable,
    f: Callable[..., Any],
    state: OptState,
    /,
    *rest: Any,
    transform_non_params: Callable[..., Any] | None = None,
    is_leaf: Callable[[Params], bool] | None = None,
) -> OptState:
    """Applies `f` to every params-shaped tree inside an optimizer state (e.g. to build sharding specs).

    The params-shaped subtrees (`mu`, `nu`, `trace`, ...) are found by running
    `initable`'s init on a placeholder for the params; `f(leaf, *rest_leaves)`
    is mapped over each of them, `transform_non_params(value)` (if given) over
    everything else (counters, ...).

    Args:
      initable: the optimizer (anything with `init`) or its init function.
      f: applied leaf by leaf to each params-shaped subtree, with the matching
        leaves of `rest`.
      state: the optimizer state to map over.
      *rest: trees with the params' structure, passed to `f` alongside.
      transform_non_params: applied to every other leaf; None (default) keeps them.
      is_leaf: passed to `jax.tree.map` over the params-shaped subtrees
        (e.g. to stop at `MaskedNode` leaves). Default None.

    Returns:
      The mapped state.
    """
    placeholder = _ParamsPlaceholder()
    init = initable.init if isinstance(initable, Initable) else initable
    with_placeholders = init(placeholder)

    def map_params(maybe_placeholder: Any, value: Any) -> Any:
        if isinstance(maybe_placeholder, _ParamsPlaceholder):
            return jax.tree.map(f, value, *rest, is_leaf=is_leaf)
        return value if transform_non_params is None else transform_non_params(value)

    return jax.tree.map(
        map_params, with_placeholders, state, is_leaf=lambda v: isinstance(v, _ParamsPlaceholder)
    )
