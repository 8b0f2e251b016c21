"""Per-example gradient clipping for differentially private training.

These are functions of per-example gradients (every leaf has a leading batch
axis), not transformations: each returns the sum of the clipped per-example
gradients and how many examples were clipped. The arithmetic mirrors optax
0.2.8, with promotions written out for strict dtype promotion.
"""

from typing import Any

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import promoted
from gdx._common.tree_math import global_norm


def _check_batch_axis(who: str, grads: Any) -> None:
    shapes = [jnp.shape(g) for g in jax.tree.leaves(grads)]
    if not shapes:
        raise ValueError(f"{who}: grads has no leaves")
    if any(len(shape) == 0 for shape in shapes) or len({shape[0] for shape in shapes}) != 1:
        raise ValueError(
            f"{who}: every leaf of grads needs the same leading batch axis (one row per example); "
            f"got shapes {jax.tree.map(jnp.shape, grads)}"
        )


def _clip_and_sum(grads: Any, l2_norm_clip: Any) -> tuple[Any, jax.Array]:
    global_grad_norms = jax.vmap(global_norm)(grads)
    multipliers = jnp.nan_to_num(
        promoted(jnp.minimum, promoted(jnp.divide, l2_norm_clip, global_grad_norms), 1.0), nan=1.0
    )
    num_clipped = jnp.sum(multipliers < 1.0)
    clipped_sum = jax.tree.map(
        lambda g: promoted(lambda m, x: jnp.tensordot(m, x, axes=1), multipliers, g), grads
    )
    return clipped_sum, num_clipped


def per_example_global_norm_clip(grads: Any, l2_norm_clip: jax.typing.ArrayLike) -> tuple[Any, jax.Array]:
    """Clips each example's gradient to global L2 norm `l2_norm_clip`, then sums over the examples.

    Rule: `n_i = ||g_i||_2` (over all leaves of example `i`);
    `sum_i g_i * min(l2_norm_clip / n_i, 1)` (a 0/0 counts as 1).

    Args:
      grads: per-example gradients; every leaf has the same leading batch axis.
      l2_norm_clip: the largest per-example global norm, >= 0 (`inf` clips nothing).

    Returns:
      `(clipped_sum, num_clipped)`: the sum over examples, with the structure of
      one example's gradient, and the int32 number of examples that were scaled
      down. As in optax, a sum has the promoted dtype of its leaf and the
      float32 multipliers (float32 for bfloat16 or integer grads).

    References:
      Abadi et al., Deep Learning with Differential Privacy, CCS 2016.
    """
    who = "per_example_global_norm_clip"
    _validate_clip(who, "l2_norm_clip", l2_norm_clip)
    _check_batch_axis(who, grads)
    return _clip_and_sum(grads, l2_norm_clip)


def per_example_layer_norm_clip(
    grads: Any, global_l2_norm_clip: jax.typing.ArrayLike, uniform: bool = True
) -> tuple[Any, Any]:
    """Clips each example's gradient leaf by leaf ("per layer"), then sums over the examples.

    Leaf `k` of `K` is clipped as `per_example_global_norm_clip` with the bound
    `C / sqrt(K)` if `uniform` (default), or `C * sqrt(D_k / D)` otherwise,
    `D_k` being the leaf's size per example and `D` the total; `C` is
    `global_l2_norm_clip`. Either way the per-leaf bounds' squares sum to `C**2`.

    Args:
      grads: per-example gradients; every leaf has the same leading batch axis.
      global_l2_norm_clip: the overall bound `C`, >= 0.
      uniform: split `C` evenly over the leaves (True, default) or in
        proportion to their sizes (False).

    Returns:
      `(clipped_sums, num_clipped)`: two trees with the structure of `grads`,
      the per-leaf sums over the examples and the per-leaf int32 counts of
      clipped examples.

    References:
      McMahan et al., Learning Differentially Private Recurrent Language Models, ICLR 2018.
    """
    who = "per_example_layer_norm_clip"
    _validate_clip(who, "global_l2_norm_clip", global_l2_norm_clip)
    _check_batch_axis(who, grads)
    # Python arithmetic on a Python bound, as optax (the per-leaf bounds stay double precision).
    if uniform:
        num_layers = len(jax.tree.leaves(grads))
        layer_clip_norms = jax.tree.map(lambda _: global_l2_norm_clip * (1.0 / num_layers) ** 0.5, grads)
    else:
        total_params = sum(g[0].size for g in jax.tree.leaves(grads))
        layer_clip_norms = jax.tree.map(
            lambda g: global_l2_norm_clip * (g[0].size / total_params) ** 0.5, grads
        )
    result = jax.tree.map(_clip_and_sum, grads, layer_clip_norms)
    return jax.tree.transpose(
        outer_treedef=jax.tree.structure(grads),
        inner_treedef=jax.tree.structure((0, 0)),
        pytree_to_transpose=result,
    )


def _validate_clip(who: str, name: str, value: Any) -> None:
    number = checks.concrete_number(value)
    if number is not None and not number >= 0:  # inf is allowed (no clipping); nan is not
        raise ValueError(f"{who}: {name} must be >= 0 (inf for no clipping), got {value!r}")
