"""Apply a transformation to part of the params only (`masked`)."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from gdx._state_utils import _ParamsPlaceholder
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    Params,
    record_structure,
    with_extra_args_support,
)


class MaskedState(NamedTuple):
    """State of `masked`: the inner transformation's state, built on the masked params."""

    inner_state: Any


class MaskedNode(NamedTuple):
    """Placeholder for a masked-out subtree.

    An empty `NamedTuple` is a pytree node without children, so `jax.tree.map`
    skips it: the inner transformation neither sees nor keeps state for the
    leaves it replaces.
    """


def mask_is_callable(mask: Any) -> bool:
    """Whether `mask` is a callable of the params: it has leaves and every leaf is callable (as optax)."""
    callable_leaves = jax.tree.leaves(jax.tree.map(callable, mask))
    return len(callable_leaves) > 0 and all(callable_leaves)


def _apply_mask(tree: Any, mask_tree: Any) -> Any:
    """Replaces the subtrees of `tree` whose mask is False by `MaskedNode()`."""
    try:
        return jax.tree.map(lambda m, t: t if m else MaskedNode(), mask_tree, tree)
    except ValueError as error:
        raise ValueError(
            "masked: the mask must be a pytree of bools with the structure of the params "
            f"(or a prefix of it), or a callable returning one; it does not fit: {error}"
        ) from error


def masked(
    inner: GradientTransformation,
    mask: Any | Callable[[Params], Any],
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformation:
    """Applies `inner` only where `mask` is True; other updates pass through unchanged.

    Update rule, leaf by leaf: `u <- inner(u)` where `mask` is True, `u <- u`
    where it is False. `inner` only sees (and only keeps state for) the
    selected leaves; the others appear to it as empty `MaskedNode()` subtrees.
    Extra arguments (`value=`, ...) are forwarded to `inner`.

    Args:
      inner: the transformation to apply to the selected leaves.
      mask: a pytree of bools with the structure of the params (or a prefix of
        it, e.g. `True` for everything), or a callable `params -> such a pytree`
        (called on the params in `init` and on the updates in `update`). The
        mask must be static (Python bools) for the transformation to jit.
      mask_compatible_extra_args: also mask each extra argument whose tree
        structure equals the updates' (e.g. per-parameter tags). Default False.

    Returns:
      A `GradientTransformation` with state `MaskedState(inner_state)`, the same
      layout as `optax.masked`.
    """
    inner = with_extra_args_support(inner)
    callable_mask = mask_is_callable(mask)

    def resolve(tree):
        return mask(tree) if callable_mask else mask

    def mask_extra_args(extra_args, updates, mask_tree):
        if not mask_compatible_extra_args:
            return extra_args
        updates_structure = jax.tree.structure(updates)
        return {
            name: _apply_mask(value, mask_tree) if jax.tree.structure(value) == updates_structure else value
            for name, value in extra_args.items()
        }

    def init(params):
        if isinstance(params, _ParamsPlaceholder):  # tree_map_params's stand-in has no leaves to mask
            return MaskedState(inner_state=inner.init(params))
        return MaskedState(inner_state=inner.init(_apply_mask(params, resolve(params))))

    def update(updates, state, params=None, **extra_args):
        mask_tree = resolve(updates)
        masked_updates = _apply_mask(updates, mask_tree)
        masked_params = None if params is None else _apply_mask(params, mask_tree)
        new_masked_updates, new_inner_state = inner.update(
            masked_updates,
            state.inner_state,
            masked_params,
            **mask_extra_args(extra_args, updates, mask_tree),
        )
        new_updates = jax.tree.map(
            lambda m, new_u, old_u: new_u if m else old_u, mask_tree, new_masked_updates, updates
        )
        return new_updates, MaskedState(inner_state=new_inner_state)

    record_structure(
        update, "masked", inner=inner, mask=mask, mask_compatible_extra_args=mask_compatible_extra_args
    )
    return GradientTransformationExtraArgs(init, update)
