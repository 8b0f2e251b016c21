"""Different transformations for different params: `partition`, `freeze`, `selective_transform`."""

import re
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


def label_by_regex(rules: LabelRules) -> Callable[[Params], Any]:
    """Returns `params -> labels` that labels each leaf by the first rule its key path matches.

    The key path is `jax.tree_util.keystr(path)`, e.g. `"['encoder']['dense']['kernel']"`;
    a rule matches when `re.search(regex, key_path)` finds the regex in it, so
    `"kernel"` matches every kernel and `r"\\['bias'\\]$"` only leaves named bias.
    The first matching rule wins, as in Keras' `MultiOptimizer`.

    Raises:
      ValueError: (when called) if some leaves match no rule; the message lists them.
    """
    compiled = [(re.compile(pattern), label) for pattern, label in rules]

    def labels_of(tree):
        unmatched = []

        def label_leaf(path, leaf):
            del leaf
            key_path = jax.tree_util.keystr(path)
            for pattern, label in compiled:
                if pattern.search(key_path):
                    return label
            unmatched.append(key_path or "<root>")
            return None

        labels = jax.tree_util.tree_map_with_path(label_leaf, tree)
        if unmatched:
            raise ValueError(
                f"partition: no rule matches the params at {unmatched}; rules (first match wins): "
                f"{[(p.pattern, label) for p, label in compiled]}. Add a catch-all rule such as "
                '(".*", "default") at the end.'
            )
        return labels

    return labels_of


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
          against each leaf's key path `jax.tree_util.keystr(path)`
          (`"['dense']['kernel']"`); the first match wins and a param that
          matches no rule raises `ValueError` listing it (see `label_by_regex`).
          E.g. `[(r"bias|scale", "no_decay"), (".*", "decay")]`.
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
