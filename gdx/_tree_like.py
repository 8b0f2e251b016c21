"""Pytrees built like another one: filled, broadcast, random; and the dtype of a pytree.

The implementations behind `gdx.tree.ones_like`, `full_like`, `batch_shape`,
`dtype`, `random_like`, `split_key_like` and `unwrap_random_key_data`, with
optax 0.2.8's signatures, defaults and results (`zeros_like`, `cast` and
`cast_like` live in `gdx._common.dtypes`, where the transformations use them).
"""

import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp


def tree_ones_like(tree: Any, dtype: jax.typing.DTypeLike | None = None) -> Any:
    """Ones with the structure (and, unless `dtype` is given, the dtypes) of `tree`.

    Args:
      tree: a pytree of arrays.
      dtype: the dtype of every leaf; None (default) keeps each leaf's dtype.

    Returns:
      A pytree of ones with the structure and shapes of `tree`.
    """
    return jax.tree.map(lambda x: jnp.ones_like(x, dtype=dtype), tree)


def tree_full_like(
    tree: Any, fill_value: jax.typing.ArrayLike, dtype: jax.typing.DTypeLike | None = None
) -> Any:
    """`fill_value` everywhere, with the structure (and, unless `dtype` is given, the dtypes) of `tree`.

    Args:
      tree: a pytree of arrays.
      fill_value: the value of every entry.
      dtype: the dtype of every leaf; None (default) keeps each leaf's dtype.

    Returns:
      A pytree with the structure and shapes of `tree`.
    """
    return jax.tree.map(lambda x: jnp.full_like(x, fill_value, dtype=dtype), tree)


def tree_batch_shape(tree: Any, shape: tuple[int, ...] = ()) -> Any:
    """Broadcasts every leaf to leading batch dimensions: a leaf of shape `s` gets shape `(*shape, *s)`.

    Args:
      tree: a pytree of arrays.
      shape: the leading dimensions to add. Default `()` (none).

    Returns:
      A pytree with the structure of `tree`.
    """
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (*shape, *jnp.shape(x))), tree)


def _promote_types(a: Any, b: Any) -> Any:
    # The standard lattice, whatever the caller's promotion mode (strict refuses int32 with uint32).
    with jax.numpy_dtype_promotion("standard"):
        return jnp.promote_types(a, b)


def _lower_dtype(a: Any, b: Any) -> Any:
    if _promote_types(a, b) == a:
        return b
    if _promote_types(a, b) == b:
        return a
    raise ValueError(f"tree_dtype: neither of {a} and {b} promotes to the other, so neither is lower")


def _higher_dtype(a: Any, b: Any) -> Any:
    return b if _lower_dtype(a, b) == a else a


def tree_dtype(tree: Any, mixed_dtype_handler: str | None = None) -> jax.typing.DTypeLike:
    """The dtype of a pytree's leaves (jax's default dtype for a pytree without leaves).

    Args:
      tree: a pytree.
      mixed_dtype_handler: what to return when leaves differ: None (default)
        raises; 'promote' returns their common type (`jnp.promote_types`,
        standard lattice); 'highest' / 'lowest' returns the leaf dtype every
        other promotes to / from (an error if two leaves' dtypes are not ordered,
        e.g. int32 and uint32).

    Returns:
      A numpy dtype.

    Raises:
      ValueError: if leaves differ and `mixed_dtype_handler` is None, if
        'highest'/'lowest' meet unordered dtypes, or if the handler is unknown.
    """
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.asarray(leaves).dtype
    dtypes = [jnp.asarray(leaf).dtype for leaf in leaves]
    if mixed_dtype_handler is None:
        paths = jax.tree_util.tree_leaves_with_path(tree)
        errors = [
            f"Expected dtype={dtypes[0]} for {jax.tree_util.keystr(path)} but got {dtype}."
            for (path, _), dtype in zip(paths, dtypes)
            if dtype != dtypes[0]
        ]
        if errors:
            raise ValueError("\n".join(errors))
        return dtypes[0]
    handlers = {"promote": _promote_types, "highest": _higher_dtype, "lowest": _lower_dtype}
    if mixed_dtype_handler not in handlers:
        raise ValueError(
            f"tree_dtype: mixed_dtype_handler must be None, 'promote', 'highest' or 'lowest', "
            f"got {mixed_dtype_handler!r}"
        )
    return functools.reduce(handlers[mixed_dtype_handler], dtypes)


def tree_split_key_like(rng_key: jax.Array, target_tree: Any) -> Any:
    """One independent random key per leaf of `target_tree` (`jax.random.split`, in leaf order).

    Args:
      rng_key: the key to split.
      target_tree: the pytree whose structure the keys take.

    Returns:
      A pytree of keys with the structure of `target_tree`.
    """
    structure = jax.tree.structure(target_tree)
    return jax.tree.unflatten(structure, jax.random.split(rng_key, structure.num_leaves))


def tree_random_like(
    rng_key: jax.Array,
    target_tree: Any,
    sampler: Callable[..., jax.typing.ArrayLike] = jax.random.normal,
    dtype: jax.typing.DTypeLike | None = None,
) -> Any:
    """Random leaves with the shapes (and shardings) of `target_tree`'s leaves.

    Rule: leaf `i` is `sampler(key_i, leaf.shape, dtype or leaf.dtype)` with the
    keys of `tree_split_key_like(rng_key, target_tree)`; a sampler that takes
    `out_sharding` gets the leaf's sharding.

    Args:
      rng_key: the random key.
      target_tree: a pytree of arrays.
      sampler: `sampler(key, shape, dtype)` (optionally with `out_sharding=`).
        Default `jax.random.normal`.
      dtype: the dtype passed to `sampler`; None (default) uses each leaf's dtype.

    Returns:
      A random pytree with the structure of `target_tree`.
    """
    keys = tree_split_key_like(rng_key, target_tree)
    sample = sampler
    if "out_sharding" not in inspect.signature(sampler).parameters:
        sample = lambda key, shape, dtype, *, out_sharding: sampler(key, shape, dtype)
    return jax.tree.map(
        lambda leaf, key: sample(
            key, leaf.shape, dtype or leaf.dtype, out_sharding=jax.typeof(leaf).sharding
        ),
        target_tree,
        keys,
    )


def tree_unwrap_random_key_data(input_tree: Any) -> Any:
    """Replaces every typed random key (`jax.random.key`) by its raw data, to compare trees numerically.

    Args:
      input_tree: a pytree of arrays and typed keys.

    Returns:
      The pytree with each key replaced by `jax.random.key_data(key)`.
    """

    def unwrap(x: Any) -> Any:
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.key_data(x)
        return x

    return jax.tree.map(unwrap, input_tree)
