"""Different transformations for different params: `partition`, `freeze`, `selective_transform`."""

import re
import sys
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import jax

from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    set_to_zero,
    with_extra_args_support,
)
from gdx.wrappers.masked import masked


class PartitionState(NamedTuple):
    """State of `partition`: label -> `MaskedState` of that label's transformation."""

    inner_states: Mapping[Hashable, OptState]


MultiTransformState = PartitionState
"""Old name of `PartitionState`, kept by optax for backwards compatibility."""

LabelRules = Sequence[tuple["str | re.Pattern[str]", Hashable]]
"""`[(regex, label), ...]`: label each param by the first regex found in its key path."""


def _looks_like_rules(param_labels: Any, labels: set[Hashable]) -> bool:
    """True for a list of `(regex, label)` pairs; False for a pytree of labels.

    A pytree of labels whose leaves are pairs of labels (`[("a", "b")]`) has the
    same shape as a rule list; it is read as labels when both members of every
    pair are labels. Compile the patterns (`re.compile`) to make rules unambiguous.
    """
    if not isinstance(param_labels, list) or not param_labels:
        return False
    pairs = all(isinstance(rule, tuple) and len(rule) == 2 for rule in param_labels)
    if not pairs or not all(isinstance(pattern, str | re.Pattern) for pattern, _ in param_labels):
        return False
    return not all(pattern in labels and label in labels for pattern, label in param_labels)


def _wrapper_types() -> tuple[type, ...]:
    """Flax's boxes around one param (`nnx.Variable`, Linen's `AxisMetadata` such as `nn.Partitioned`).

    Each flattens to its array under a trailing `.value` key that is not part
    of the param's name. Read from `sys.modules`: a tree can hold them only if
    flax is imported, and gdx does not import flax.
    """
    found = []
    for module_name, attribute in (("flax.nnx", "Variable"), ("flax.core.meta", "AxisMetadata")):
        module = sys.modules.get(module_name)
        wrapper = getattr(module, attribute, None)
        if isinstance(wrapper, type):
            found.append(wrapper)
    return tuple(found)


def _key_name(key: Any) -> str:
    for attribute in ("key", "idx", "name"):  # DictKey / FlattenedIndexKey, SequenceKey, GetAttrKey
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


def _leaf_names(tree: Any) -> Any:
    """`tree` with each leaf replaced by `(slash_path, keystr_path)`, flax's wrappers kept as nodes."""
    wrappers = _wrapper_types()

    def is_wrapper(node: Any) -> bool:
        return bool(wrappers) and isinstance(node, wrappers)

    def name_of(path: tuple[Any, ...]) -> tuple[str, str]:
        return "/".join(_key_name(key) for key in path), jax.tree_util.keystr(path)

    def at(path, node):
        if not is_wrapper(node):
            return name_of(path)

        def inside(inner_path, leaf):
            del leaf
            if (
                inner_path
                and isinstance(inner_path[0], jax.tree_util.GetAttrKey)
                and inner_path[0].name == "value"
            ):
                inner_path = inner_path[1:]
            return name_of((*path, *inner_path))

        return jax.tree_util.tree_map_with_path(inside, node)

    return jax.tree_util.tree_map_with_path(at, tree, is_leaf=is_wrapper)


def _is_name(node: Any) -> bool:
    return isinstance(node, tuple) and len(node) == 2 and all(isinstance(part, str) for part in node)


def param_paths(params: Params) -> dict[str, Any]:
    """`{path: leaf}` in tree order, with the path form that `(regex, label)` rules match.

    The path of a leaf is its keys joined by `/`: dict keys and attribute
    names as they are, sequence indices as numbers, e.g. `"encoder/layers/0/bias"`.
    The `.value` of a flax wrapper (`nnx.Param` and the other `nnx.Variable` objects
    in an `nnx.State`, as `nnx.Optimizer` passes them; Linen's
    `nn.Partitioned`) is not part of it, so a Linen param dict and the
    `nnx.State` of the same model give the same paths.
    """
    names = jax.tree.leaves(_leaf_names(params), is_leaf=_is_name)
    return {slash: leaf for (slash, _), leaf in zip(names, jax.tree.leaves(params), strict=True)}


def label_by_regex(rules: LabelRules) -> Callable[[Params], Any]:
    """Returns `params -> labels` that labels each leaf by the first rule its path matches.

    A rule `(regex, label)` matches a leaf when `re.search(regex, path)` finds
    the regex in its path, the keys joined by `/` (see `param_paths`):
    `"fc/bias"` for `{"fc": {"bias": ...}}`, for the `nnx.State` of an
    `nnx.Module` with attribute `fc = nnx.Linear(...)` (the `nnx.Param`'s
    `.value` is not part of the path) and for Linen's `params["fc"]["bias"]`.
    So `r"bias$"` matches every bias and `r"^fc/bias$"` exactly one, with Linen
    and NNX alike. For rules written for earlier gdx, a rule also matches when
    it is found in the `jax.tree_util.keystr` form of the same path
    (`"['fc']['bias']"`, again without `.value`). The first matching rule wins,
    as in Keras' `MultiOptimizer`. `gdx.partition_labels(rules, params)` shows
    the label each leaf gets.

    Raises:
      ValueError: (when called) if some leaves match no rule; the message lists them.
    """
    compiled = [(re.compile(pattern), label) for pattern, label in rules]

    def labels_of(tree):
        unmatched: list[tuple[str, str]] = []

        def label_leaf(name):
            slash, keystr = name
            for pattern, label in compiled:
                if pattern.search(slash) or pattern.search(keystr):
                    return label
            unmatched.append((slash or "<root>", keystr or "<root>"))
            return None

        labels = jax.tree.map(label_leaf, _leaf_names(tree), is_leaf=_is_name)
        if unmatched:
            raise ValueError(
                f"partition: no rule matches the params at {[slash for slash, _ in unmatched]} "
                f"(key paths {[keystr for _, keystr in unmatched]}); rules (first match wins): "
                f"{[(p.pattern, label) for p, label in compiled]}. Add a catch-all rule such as "
                '(".*", "default") at the end.'
            )
        return labels

    return labels_of


def partition_labels(
    param_labels: Any | Callable[[Params], Any] | LabelRules, params: Params
) -> dict[str, Any]:
    """`{path: label}` for every leaf of `params`: the label `partition(transforms, param_labels)` gives it.

    For checking rules before training: `print(gdx.partition_labels(rules, params))`
    with the params the optimizer sees (`nnx.state(model, nnx.Param)` for
    `nnx.Optimizer`, `variables["params"]` with Linen). Paths are in the form
    the rules match (`"fc/bias"`, see `param_paths`), in tree order.

    Args:
      param_labels: what `partition` takes: a list of `(regex, label)` rules, a
        callable `params -> labels`, or a pytree of labels with the structure of
        `params` (or a prefix of it). A list of `(str, label)` pairs is read as
        rules (`partition` also checks it against its transforms' labels).
      params: the params (or any tree of their structure).

    Returns:
      A dict `{path: label}`, one entry per leaf.

    Raises:
      ValueError: if a rule list leaves some leaves unlabelled (listing them).
    """
    if isinstance(param_labels, list) and _looks_like_rules(param_labels, set()):
        param_labels = label_by_regex(cast(LabelRules, param_labels))
    labels = param_labels(params) if callable(param_labels) else param_labels
    per_leaf = jax.tree.map(lambda label, sub: jax.tree.map(lambda _: label, sub), labels, params)
    return dict(zip(param_paths(params), jax.tree.leaves(per_leaf), strict=True))


def partition(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: Any | Callable[[Params], Any] | LabelRules,
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformation:
    """Applies a different transformation to each labelled group of params.

    Update rule, leaf by leaf: `u <- transforms[label(leaf)](u)`; each
    transformation sees only its own leaves (as `masked` does) and keeps state
    only for them. Extra arguments (`value=`, ...) are forwarded to every member.

    Args:
      transforms: label -> transformation. Every label used must have one.
      param_labels: which label each param gets, one of

        * a pytree of labels with the structure of the params (or a prefix of it);
        * a callable `params -> such a pytree` (called on the params in `init`
          and on the updates in `update`);
        * gdx only: a list of `(regex, label)` rules, matched with `re.search`
          against each leaf's path, its keys joined by `/` (`"dense/kernel"`,
          the same for a Linen param dict and an `nnx.State` of `nnx.Param` objects);
          the first match wins and a param that matches no rule raises
          `ValueError` listing it (see `label_by_regex`; print what each leaf
          gets with `gdx.partition_labels(rules, params)`).
          E.g. `[(r"bias$|scale$", "no_decay"), (".*", "decay")]`.
      mask_compatible_extra_args: also mask each extra argument whose tree
        structure equals the updates'. Default False.

    Returns:
      A `GradientTransformation` with state `PartitionState(inner_states)`,
      `inner_states[label] = MaskedState(inner_state)`, as `optax.partition`.
    """
    transforms = {label: with_extra_args_support(tx) for label, tx in transforms.items()}
    if _looks_like_rules(param_labels, set(transforms)):
        param_labels = label_by_regex(cast(LabelRules, param_labels))

    def labels_of(tree):
        labels = param_labels(tree) if callable(param_labels) else param_labels
        missing = set(jax.tree.leaves(labels)) - set(transforms)
        if missing:
            raise ValueError(
                f"partition: the labels {sorted(map(repr, missing))} have no transformation; "
                f"transforms has {sorted(map(repr, transforms))}"
            )
        return labels

    def group_of(labels, label):
        mask = jax.tree.map(lambda leaf_label: leaf_label == label, labels)
        return masked(transforms[label], mask, mask_compatible_extra_args=mask_compatible_extra_args)

    def init(params):
        labels = labels_of(params)
        return PartitionState({label: group_of(labels, label).init(params) for label in transforms})

    def update(updates, state, params=None, **extra_args):
        labels = labels_of(updates)
        new_inner_states = {}
        for label in transforms:
            updates, new_inner_states[label] = group_of(labels, label).update(
                updates, state.inner_states[label], params, **extra_args
            )
        return updates, PartitionState(new_inner_states)

    return GradientTransformationExtraArgs(init, update)


multi_transform = partition
"""Old name of `partition`, kept by optax for backwards compatibility."""


def freeze(mask: bool | Any) -> GradientTransformation:
    """Zeroes the updates of the params where `mask` is True (they stay constant).

    Update rule, leaf by leaf: `u <- 0` where `mask` is True, `u <- u` elsewhere.

    Args:
      mask: a static bool (freeze everything or nothing) or a pytree of bools
        with the structure of the params (or a prefix of it); True = frozen.

    Returns:
      `masked(set_to_zero(), mask)`, as `optax.freeze` (state `MaskedState(EmptyState())`).
    """
    return masked(set_to_zero(), mask)


def selective_transform(
    optimizer: GradientTransformation, *, freeze_mask: bool | Any
) -> GradientTransformation:
    """Runs `optimizer` on the params where `freeze_mask` is False and zeroes the others.

    Unlike `chain(optimizer, freeze(mask))`, the optimizer keeps no state for
    the frozen params (and never sees their gradients).

    Args:
      optimizer: the transformation for the trainable params.
      freeze_mask: a static bool or a pytree of bools with the structure of
        the params (or a prefix of it); True = frozen.

    Returns:
      `partition({"train": optimizer, "freeze": set_to_zero()}, labels)`, the
      same layout as `optax.selective_transform`.
    """

    def labels(params):
        del params
        return jax.tree.map(lambda frozen: "freeze" if frozen else "train", freeze_mask)

    return partition({"train": optimizer, "freeze": set_to_zero()}, param_labels=labels)
