"""`gdx.tree_utils`: optax 0.2.8's `optax.tree_utils`, every name (`tree_norm`, `tree_add`, `tree_get`, ...).

The same objects as the short names of `gdx.tree` (`gdx.tree_utils.tree_norm
is gdx.tree.norm`); `tree_get` / `tree_set` / `tree_get_all_with_path` read
and write values anywhere in a nested optimizer state, with paths that name
`NamedTuple` fields (`NamedTupleKey`).
"""

from gdx._common.dtypes import cast_like as tree_cast_like
from gdx._common.dtypes import tree_cast as tree_cast
from gdx._common.dtypes import tree_zeros_like as tree_zeros_like
from gdx._common.moments import bias_correction as tree_bias_correction
from gdx._common.moments import update_infinity_moment as tree_update_infinity_moment
from gdx._common.moments import update_moment as tree_update_moment
from gdx._common.moments import update_moment_per_elem_norm as tree_update_moment_per_elem_norm
from gdx._common.tree_math import tree_add as tree_add
from gdx._common.tree_math import tree_add_scale as tree_add_scale
from gdx._common.tree_math import tree_allclose as tree_allclose
from gdx._common.tree_math import tree_clip as tree_clip
from gdx._common.tree_math import tree_conj as tree_conj
from gdx._common.tree_math import tree_div as tree_div
from gdx._common.tree_math import tree_max as tree_max
from gdx._common.tree_math import tree_min as tree_min
from gdx._common.tree_math import tree_mul as tree_mul
from gdx._common.tree_math import tree_norm as tree_norm
from gdx._common.tree_math import tree_real as tree_real
from gdx._common.tree_math import tree_scale as tree_scale
from gdx._common.tree_math import tree_size as tree_size
from gdx._common.tree_math import tree_sub as tree_sub
from gdx._common.tree_math import tree_sum as tree_sum
from gdx._common.tree_math import tree_vdot as tree_vdot
from gdx._common.tree_math import tree_where as tree_where
from gdx._state_utils import NamedTupleKey as NamedTupleKey
from gdx._state_utils import tree_get as tree_get
from gdx._state_utils import tree_get_all_with_path as tree_get_all_with_path
from gdx._state_utils import tree_map_params as tree_map_params
from gdx._state_utils import tree_set as tree_set
from gdx._tree_like import tree_batch_shape as tree_batch_shape
from gdx._tree_like import tree_dtype as tree_dtype
from gdx._tree_like import tree_full_like as tree_full_like
from gdx._tree_like import tree_ones_like as tree_ones_like
from gdx._tree_like import tree_random_like as tree_random_like
from gdx._tree_like import tree_split_key_like as tree_split_key_like
from gdx._tree_like import tree_unwrap_random_key_data as tree_unwrap_random_key_data

# Names re-exported under a different name than their home module gives them.
__all__ = [
    "NamedTupleKey",
    "tree_add",
    "tree_add_scale",
    "tree_allclose",
    "tree_batch_shape",
    "tree_bias_correction",
    "tree_cast",
    "tree_cast_like",
    "tree_clip",
    "tree_conj",
    "tree_div",
    "tree_dtype",
    "tree_full_like",
    "tree_get",
    "tree_get_all_with_path",
    "tree_map_params",
    "tree_max",
    "tree_min",
    "tree_mul",
    "tree_norm",
    "tree_ones_like",
    "tree_random_like",
    "tree_real",
    "tree_scale",
    "tree_set",
    "tree_size",
    "tree_split_key_like",
    "tree_sub",
    "tree_sum",
    "tree_unwrap_random_key_data",
    "tree_update_infinity_moment",
    "tree_update_moment",
    "tree_update_moment_per_elem_norm",
    "tree_vdot",
    "tree_where",
    "tree_zeros_like",
]
