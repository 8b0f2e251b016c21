"""Converting optimizer states between optax and gdx, to switch libraries in the middle of a run.

gdx states have optax's layout (the same `NamedTuple` classes by name, with
the same fields in the same order, around the same arrays), so a conversion
only swaps each library's state classes for the other's, field by field; the
arrays are passed through untouched (no copy, no cast).

    opt_state = gdx.from_optax_state(optax_opt_state)                  # optax -> gdx
    opt_state = gdx.to_optax_state(gdx_opt_state, optax.adamw(1e-3))  # gdx -> optax
"""

import sys
from typing import Any, cast

import jax
import numpy as np

from gdx._state_utils import _ParamsPlaceholder
from gdx.core import OptState, Params

_ANY: Any = object()
"""Reference marker: no reference here, convert by class name."""


def _is_named_tuple(node: Any) -> bool:
    return isinstance(node, tuple) and hasattr(node, "_fields")


def _is_transformation(x: Any) -> bool:
    return callable(getattr(x, "init", None)) and callable(getattr(x, "update", None))


def _is_leaf(node: Any) -> bool:
    return node is not None and jax.tree_util.treedef_is_leaf(jax.tree.structure(node))


def _shape(leaf: Any) -> tuple[int, ...]:
    return tuple(leaf.shape) if hasattr(leaf, "shape") else np.shape(leaf)


def _describe(node: Any) -> str:
    if node is None:
        return "None"
    if _is_named_tuple(node):
        return f"{type(node).__name__}({', '.join(node._fields)})"
    if isinstance(node, dict):
        return f"a dict with keys {list(node)}"
    if isinstance(node, list | tuple):
        return f"a {type(node).__name__} of {len(node)} entries"
    if _is_leaf(node):
        return f"an array of shape {_shape(node)}"
    return f"a {type(node).__name__}"


def _named_tuple_classes(package: str) -> dict[str, list[type]]:
    """name -> the NamedTuple classes of `package` with that name, top-level exports first."""
    index: dict[str, list[type]] = {}
    modules = [sys.modules[package]] + [
        module for name, module in list(sys.modules.items()) if name.startswith(package + ".") and module
    ]
    for module in modules:
        for value in list(vars(module).values()):
            if isinstance(value, type) and issubclass(value, tuple) and hasattr(value, "_fields"):
                classes = index.setdefault(value.__name__, [])
                if value not in classes:
                    classes.append(value)
    return index


class _Converter:
    """Rebuilds a state with the target library's classes, checking it against a reference."""

    def __init__(self, who: str, source: str, target: str, index: dict[str, list[type]]):
        self.who, self.source, self.target, self.index = who, source, target, index

    def fail(self, path: str, got: Any, expected: str) -> None:
        raise ValueError(
            f"{self.who}: the state differs from the {self.target} reference at {path or '<root>'}: "
            f"the state has {_describe(got)}, the reference has {expected}; convert the state of "
            "the same optimizer (same chain, same masks and hyperparameter structure, same params)"
        )

    def target_class(self, node: Any, path: str) -> type:
        cls = type(node)
        for candidate in self.index.get(cls.__name__, []):
            if candidate._fields == node._fields:  # type: ignore[attr-defined]
                return candidate
        if cls.__module__.split(".")[0] == self.source:
            self.fail(path, node, f"no {self.target} class {cls.__name__} with these fields")
        return cls  # not a state class of the source library (e.g. a user's params NamedTuple)

    def convert(self, node: Any, ref: Any, path: str) -> Any:
        if _is_placeholder(ref):  # a params-shaped subtree: only MaskedNodes to rename
            ref = _ANY
        if node is None:
            if ref is not _ANY and ref is not None:
                self.fail(path, node, _describe(ref))
            return None
        if ref is not _ANY and _is_named_tuple(node) != _is_named_tuple(ref):
            self.fail(path, node, _describe(ref))
        if _is_named_tuple(node):
            if ref is _ANY:
                cls, refs = self.target_class(node, path), [_ANY] * len(node)
            elif type(ref).__name__ != type(node).__name__ or ref._fields != node._fields:
                self.fail(path, node, _describe(ref))
            else:
                cls, refs = type(ref), list(ref)
            return cls(*(self.convert(v, r, f"{path}.{f}") for f, v, r in zip(node._fields, node, refs)))
        if isinstance(node, dict):
            if ref is not _ANY and (not isinstance(ref, dict) or set(ref) != set(node)):
                self.fail(path, node, _describe(ref))
            template = node if ref is _ANY else ref  # keeps the reference's dict class and key order
            new = template.copy()
            for key in template:
                new[key] = self.convert(node[key], _ANY if ref is _ANY else ref[key], f"{path}[{key!r}]")
            return new
        if isinstance(node, list | tuple):
            if ref is not _ANY and (not isinstance(ref, list | tuple) or len(ref) != len(node)):
                self.fail(path, node, _describe(ref))
            refs = [_ANY] * len(node) if ref is _ANY else list(ref)
            return type(node)(self.convert(v, r, f"{path}[{i}]") for i, (v, r) in enumerate(zip(node, refs)))
        if _is_leaf(node):
            if ref is not _ANY and (not _is_leaf(ref) or _shape(ref) != _shape(node)):
                self.fail(path, node, _describe(ref))
            return node
        # Any other pytree node (a flax struct, ...): convert its children, keep the node.
        children, treedef = jax.tree.flatten(node, is_leaf=lambda x: x is not node)
        if ref is not _ANY:
            ref_children, _ = jax.tree.flatten(ref, is_leaf=lambda x: x is not ref)
            if type(ref) is not type(node) or len(ref_children) != len(children):
                self.fail(path, node, _describe(ref))
        else:
            ref_children = [_ANY] * len(children)
        return treedef.unflatten(
            [self.convert(c, r, f"{path}<{i}>") for i, (c, r) in enumerate(zip(children, ref_children))]
        )


def _placeholder(library: str) -> Any:
    """The params placeholder the library's own inits recognise (optax's `masked` checks its class)."""
    if library == "optax":
        import optax

        # optax's placeholder class is private: take the instance its public `tree_map_params`
        # passes to an initializer, rather than importing `optax.tree_utils._state_utils`.
        seen: list[Any] = []

        def capture(params: Any) -> Any:
            seen.append(params)
            return ()

        optax.tree_utils.tree_map_params(capture, lambda value: value, cast(Any, ()))
        return type(seen[0])() if seen else _ParamsPlaceholder()
    return _ParamsPlaceholder()


def _is_placeholder(node: Any) -> bool:
    return type(node).__name__ == "_ParamsPlaceholder" and not jax.tree.leaves(node)


def _reference_state(who: str, reference: Any, params: Params | None, library: str) -> Any:
    """The reference state: given, or built from a transformation (on `params`, or on a placeholder)."""
    if not _is_transformation(reference):
        return reference
    if params is not None:
        return jax.eval_shape(reference.init, params)
    try:
        return reference.init(_placeholder(library))
    except Exception as error:  # an init that needs real params (a mask function, shapes, ...)
        raise ValueError(
            f"{who}: could not build the reference state from the transformation without params "
            f"({type(error).__name__}: {error}); pass params=... (or the reference state itself, "
            "e.g. tx.init(params) or jax.eval_shape(tx.init, params))"
        ) from error


def from_optax_state(
    state: OptState,
    *,
    reference: Any = None,
    params: Params | None = None,
) -> OptState:
    """Converts an optax optimizer state (e.g. from a checkpoint) to the gdx state of the same optimizer.

    Every optax state class (`ScaleByAdamState`, `MaskedState`, `MaskedNode`,
    `EmptyState`, ...) becomes the gdx class with the same name and fields;
    arrays, dicts, tuples and user classes are kept as they are. Continuing
    with the gdx optimizer then gives the numbers optax would have given.

    Args:
      state: the optax state, e.g. `optax.adamw(1e-3).init(params)` after some steps.
      reference: optional, keyword-only: the gdx optimizer (or a gdx state of
        it) the result is for; then the result is checked to have its
        structure. Default None (convert by class names only).
      params: optional, keyword-only: params (or `jax.ShapeDtypeStruct` values) to build
        the reference state from `reference.init`; needed when that init cannot
        run on a placeholder (e.g. a mask given as a function).

    Returns:
      The gdx state.

    Raises:
      ValueError: naming the first path where the state has an optax class gdx
        lacks, or differs from the reference.
    """
    import gdx  # noqa: F401 - every gdx state class must be importable by name

    converter = _Converter("from_optax_state", "optax", "gdx", _named_tuple_classes("gdx"))
    ref = _ANY if reference is None else _reference_state("from_optax_state", reference, params, "gdx")
    return converter.convert(state, ref, "")


def to_optax_state(
    state: OptState,
    optax_optimizer_or_reference: Any,
    *,
    params: Params | None = None,
) -> OptState:
    """Converts a gdx optimizer state to the optax state of the same optimizer.

    The structure is taken from the optax side: `optax_optimizer_or_reference`
    is the optax transformation (its `init` is traced on a placeholder for the
    params, or on `params` if given) or a reference state (`optax_tx.init(params)`
    or `jax.eval_shape(optax_tx.init, params)`). Each gdx state class becomes the
    optax class at the same place; arrays are passed through.

    Args:
      state: the gdx state.
      optax_optimizer_or_reference: the optax `GradientTransformation`, or a state of it.
      params: optional, keyword-only: params (or `jax.ShapeDtypeStruct` values) for
        the optax `init`, needed when it cannot run on a placeholder (e.g. a mask
        given as a function). Default None.

    Returns:
      The optax state.

    Raises:
      ValueError: naming the first path where the gdx state differs from the optax structure.
    """
    import optax  # noqa: F401 - the reference's classes, and optax.MaskedNode inside params subtrees
    import optax.contrib  # noqa: F401

    converter = _Converter("to_optax_state", "gdx", "optax", _named_tuple_classes("optax"))
    ref = _reference_state("to_optax_state", optax_optimizer_or_reference, params, "optax")
    return converter.convert(state, ref, "")
