"""The gradient-transformation protocol, its types, its combinators and `apply_updates`.

A `GradientTransformation` is a pair of pure functions::

    state = tx.init(params)
    updates, state = tx.update(grads, state, params=None, **extra_args)

It is a `NamedTuple`, so a gdx transformation drops into `optax.chain`,
`flax.nnx.Optimizer` and `flax.training.train_state.TrainState`, and an optax
transformation drops into `gdx.chain`.
"""

import inspect
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from gdx._common.dtypes import promoted_dtype

Params = Any
"""A pytree of parameters (arrays)."""
Updates = Any
"""A pytree of updates or gradients with the structure of the params."""
OptState = Any
"""A pytree of arrays: the state of a transformation."""
Schedule = Callable[[jax.typing.ArrayLike], jax.typing.ArrayLike]
"""A function from the step count (int32 array) to a value, e.g. a learning rate."""
ScalarOrSchedule = float | jax.Array | Schedule
"""A hyperparameter given as a number (or array) or as a `Schedule` of the step count."""
MaskOrFn = Any | Callable[[Params], Any] | None
"""A mask (a pytree of bools with the params' structure), a function `params -> mask`, or None."""


class TransformInitFn(Protocol):
    """`init(params) -> state`: builds the state of a transformation."""

    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    """`update(updates, state, params=None, **extra_args) -> (updates, state)`.

    `extra_args` (e.g. `value=` the loss) are forwarded by every combinator;
    a transformation that does not use them ignores them.
    """

    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, OptState]: ...


class GradientTransformation(NamedTuple):
    """A pure `(init, update)` pair.

    Attributes:
      init: `init(params) -> state`.
      update: `update(updates, state, params=None, **extra_args) -> (updates, state)`.
        Every gdx transformation accepts (and ignores unused) extra arguments.
    """

    init: TransformInitFn
    update: TransformUpdateFn


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


class GradientTransformationExtraArgs(GradientTransformation):
    """A `GradientTransformation` whose `update` accepts extra keyword arguments.

    As in optax, a subclass: every gdx transformation is one, while a plain
    `GradientTransformation(init, update)` built by user code is not, so code can
    forward `value=`, `grad=`, ... only to transformations that take them.

    Attributes:
      init: `init(params) -> state`.
      update: `update(updates, state, params=None, **extra_args) -> (updates, state)`.
    """

    update: TransformUpdateExtraArgsFn


class EmptyState(NamedTuple):
    """The state of a stateless transformation: an empty pytree."""


def _accepts_extra_args(update: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(update).parameters.values()
    except (TypeError, ValueError):  # builtins or C callables: assume the narrow protocol
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformationExtraArgs:
    """Returns `tx` with an `update` that accepts (and drops) extra arguments if it did not.

    Lets a plain optax `GradientTransformation` (whose `update` takes no `**extra_args`)
    sit inside `gdx.chain`, which forwards `value=`, `grad=`, ... to every member.
    """
    if not (hasattr(tx, "init") and hasattr(tx, "update")):
        raise TypeError(f"expected a GradientTransformation (an object with init and update), got {tx!r}")
    if isinstance(tx, GradientTransformationExtraArgs):
        return tx
    if _accepts_extra_args(tx.update):
        return GradientTransformationExtraArgs(tx.init, tx.update)
    inner_update = tx.update

    def update(updates, state, params=None, **extra_args):
        del extra_args
        return inner_update(updates, state, params)

    return GradientTransformationExtraArgs(tx.init, update)


def record_structure(update: Callable[..., Any], kind: str, **parts: Any) -> None:
    """Records on `update` how its transformation is built, for `gdx.fuse` to read.

    `gdx.fuse` re-assembles a transformation on packed buffers, so it must see
    through the combinators (`chain`, `named_chain`, `masked`) and recognise the
    per-leaf reductions (`scale_by_trust_ratio`). A transformation whose `update`
    is element-wise, or reduces over all leaves at once (`clip_by_global_norm`),
    records `kind="elementwise"` where it is defined, so `fuse` runs it on packed
    buffers unchanged; a member without a record is rejected. The record is one plain
    attribute, `update._gdx_structure = (kind, parts)`; nothing else reads it.
    """
    update.__dict__["_gdx_structure"] = (kind, parts)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Applies transformations in order; the state is the tuple of their states.

    Update rule: `u_0 = grads; u_{i+1}, s_i' = t_i.update(u_i, s_i, params, **extra_args)`.
    Extra arguments are forwarded to every member (members that do not take
    them, such as plain optax transformations, are called without them).

    Args:
      *transforms: gdx or optax transformations.

    Returns:
      A `GradientTransformation` whose state is `tuple(t.init(params) for t in transforms)`,
      the same layout as `optax.chain`.
    """
    members = [with_extra_args_support(t) for t in transforms]

    def init(params):
        return tuple(t.init(params) for t in members)

    def update(updates, state, params=None, **extra_args):
        if not isinstance(state, tuple) or len(state) != len(members):
            raise ValueError(
                f"chain of {len(members)} transformations got a state that is not a tuple of "
                f"{len(members)} states; build the state with the same chain's init(params)"
            )
        new_state = []
        for member, member_state in zip(members, state):
            updates, member_state = member.update(updates, member_state, params, **extra_args)
            new_state.append(member_state)
        return updates, tuple(new_state)

    record_structure(update, "chain", members=tuple(members))
    return GradientTransformationExtraArgs(init, update)


def named_chain(*named_transforms: tuple[str, GradientTransformation]) -> GradientTransformation:
    """Like `chain`, but each member is named and its state is `state[name]`.

    Args:
      *named_transforms: `(name, transformation)` pairs with unique string names.

    Returns:
      A `GradientTransformation` whose state is an `OrderedDict` name -> member state,
      the same layout as `optax.named_chain`.
    """
    names = [name for name, _ in named_transforms]
    if len(names) != len(set(names)):
        raise ValueError(f"named_chain: names must be unique, got {names}")
    members = [(name, with_extra_args_support(t)) for name, t in named_transforms]

    def init(params):
        return OrderedDict((name, t.init(params)) for name, t in members)

    def update(updates, state, params=None, **extra_args):
        missing = [name for name in names if name not in state]
        if missing:
            raise ValueError(f"named_chain: state has no entry for {missing}; got {list(state)}")
        new_state = OrderedDict()
        for name, t in members:
            updates, new_state[name] = t.update(updates, state[name], params, **extra_args)
        return updates, new_state

    record_structure(update, "named_chain", members=tuple(members))
    return GradientTransformationExtraArgs(init, update)


def identity() -> GradientTransformation:
    """Leaves updates unchanged: `u <- u`. Stateless (`EmptyState`)."""

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        return updates, state

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


def set_to_zero() -> GradientTransformation:
    """Replaces every update by zeros: `u <- 0` (freezes the params it is applied to)."""

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(jnp.zeros_like, updates), state

    record_structure(update, "elementwise")

    return GradientTransformationExtraArgs(init, update)


def stateless(
    f: Callable[[Updates, Params | None], Updates],
) -> GradientTransformation:
    """Builds a stateless transformation from `f(updates, params) -> updates`."""

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra_args):
        del extra_args
        return f(updates, params), state

    return GradientTransformationExtraArgs(init, update)


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


def apply_updates(params: Params, updates: Updates) -> Params:
    """Returns `params + updates`, each leaf cast back to its param's dtype.

    `None` leaves of `params` stay `None`. The addition is done in the promoted
    dtype of the pair (as optax does), then cast to the param dtype, so a
    bfloat16 param stays bfloat16 and a float32 update is not truncated before
    the add.
    """

    def add(param, update):
        if param is None:
            return None
        param = jnp.asarray(param)
        update = jnp.asarray(update)
        common = promoted_dtype(param.dtype, update.dtype)
        return (param.astype(common) + update.astype(common)).astype(param.dtype)

    return jax.tree.map(add, params, updates, is_leaf=lambda x: x is None)
