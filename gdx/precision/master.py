"""Float32 master weights for low-precision params: `master_weights`."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.tree_math import nodes_of_type
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    Params,
    apply_updates,
    with_extra_args_support,
)


class MasterWeightsState(NamedTuple):
    """State of `master_weights`: the high-precision copy of the params and the inner state.

    Attributes:
      master: the params in `master_dtype` (floating leaves; other leaves as they are).
      inner_state: the inner transformation's state, initialized on `master`.
    """

    master: Params
    inner_state: Any


def _is_float(x: Any) -> bool:
    return x is not None and jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)


def master_weights(
    inner: GradientTransformation, master_dtype: jax.typing.DTypeLike = jnp.float32
) -> GradientTransformation:
    """Keeps a `master_dtype` copy of low-precision params and applies `inner`'s updates to it.

    Update rule (per floating leaf; `p` is the bfloat16/float16 param)::

        g32          = g.astype(master_dtype)
        u32, inner   <- inner(g32, inner_state, master)
        master       <- master + u32                      # in master_dtype: tiny steps are kept
        u            = master.astype(p.dtype) - p          # in p's dtype

    so `apply_updates(params, u)` gives `master.astype(p.dtype)`: the params are
    the master copy rounded once, and small updates that round to nothing in
    bfloat16 accumulate in the master copy instead of being lost.

    Exactness: `u` is computed and added in the param's dtype. By Sterbenz's
    lemma `master.astype(dtype) - p` is exact whenever the new and old param are
    within a factor of 2 of each other (every small step), and then
    `apply_updates` reproduces `master.astype(dtype)` bit for bit. Otherwise
    (a sign change, a jump by more than 2x) the param can be one rounding off;
    the error does not accumulate, because the next step starts from `master`.
    `master_params(state, params)` returns the exact rounded master copy.

    Memory: one `master_dtype` copy of the params (4 bytes per param for
    float32) on top of the inner state, which also lives in `master_dtype`
    (Adam: 8 bytes per param). The params themselves stay in their own dtype.
    Non-floating leaves are passed to `inner` unchanged.

    Args:
      inner: the optimizer to run in high precision (e.g. `gdx.adam(1e-3)`).
      master_dtype: dtype of the master copy and of the inner optimizer's
        inputs. Default float32.

    Returns:
      A `GradientTransformation` with state `MasterWeightsState(master, inner_state)`.
      `update` needs `params`.

    Reference: Micikevicius et al., "Mixed Precision Training", ICLR 2018.
    """
    master_dtype = jax.dtypes.canonicalize_dtype(master_dtype)
    if not jnp.issubdtype(master_dtype, jnp.floating):
        raise ValueError(f"master_weights: master_dtype must be a floating dtype, got {master_dtype!r}")
    inner = with_extra_args_support(inner)

    def to_master(tree):
        return jax.tree.map(lambda x: x.astype(master_dtype) if _is_float(x) else x, tree)

    def init(params):
        master = to_master(params)
        return MasterWeightsState(master=master, inner_state=inner.init(master))

    def update(updates, state, params=None, **extra_args):
        if params is None:
            raise ValueError("master_weights: update needs `params` (it returns master.astype(p.dtype) - p)")
        checks.check_same_structure(updates, state.master, who="master_weights", what="state.master")
        inner_updates, inner_state = inner.update(
            to_master(updates), state.inner_state, state.master, **extra_args
        )
        master = apply_updates(state.master, inner_updates)

        def param_update(new_master, p, g):
            if not _is_float(p):
                return g
            return new_master.astype(p.dtype) - p

        new_updates = jax.tree.map(param_update, master, params, inner_updates)
        return new_updates, MasterWeightsState(master=master, inner_state=inner_state)

    return GradientTransformationExtraArgs(init, update)


def master_params(state: Any, params: Params) -> Params:
    """The params as `master_weights` holds them: `master.astype(p.dtype)` leaf by leaf.

    Args:
      state: a `MasterWeightsState`, or any state that contains exactly one.
      params: the current params (for their dtypes).

    Returns:
      The master copy rounded to the params' dtypes.
    """
    found = nodes_of_type(state, MasterWeightsState)
    if len(found) != 1:
        raise ValueError(f"master_params: expected one MasterWeightsState in the state, found {len(found)}")
    return jax.tree.map(lambda m, p: m.astype(p.dtype) if _is_float(p) else p, found[0].master, params)
