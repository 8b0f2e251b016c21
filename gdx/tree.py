"""`gdx.tree`: optax 0.2.8's `optax.tree` (arithmetic, norms, casting, random pytrees, state access).

Each name is the same object as its long form in `gdx.tree_utils`
(`gdx.tree.norm is gdx.tree_utils.tree_norm`), as in optax.
"""

from gdx._common.dtypes import cast_like as cast_like
from gdx._common.dtypes import tree_cast as cast
from gdx._common.dtypes import tree_zeros_like as zeros_like
from gdx._common.moments import bias_correction as bias_correction
from gdx._common.moments import update_infinity_moment as update_infinity_moment
from gdx._common.moments import update_moment as update_moment
from gdx._common.moments import update_moment_per_elem_norm as update_moment_per_elem_norm
from gdx._common.tree_math import tree_add as add
from gdx._common.tree_math import tree_add_scale as add_scale
from gdx._common.tree_math import tree_allclose as allclose
from gdx._common.tree_math import tree_clip as clip
from gdx._common.tree_math import tree_conj as conj
from gdx._common.tree_math import tree_div as div
from gdx._common.tree_math import tree_max as max
from gdx._common.tree_math import tree_min as min
from gdx._common.tree_math import tree_mul as mul
from gdx._common.tree_math import tree_norm as norm
from gdx._common.tree_math import tree_real as real
from gdx._common.tree_math import tree_scale as scale
from gdx._common.tree_math import tree_size as size
from gdx._common.tree_math import tree_sub as sub
from gdx._common.tree_math import tree_sum as sum
from gdx._common.tree_math import tree_vdot as vdot
from gdx._common.tree_math import tree_where as where
from gdx._state_utils import tree_get as get
from gdx._state_utils import tree_get_all_with_path as get_all_with_path
from gdx._state_utils import tree_map_params as map_params
from gdx._state_utils import tree_set as set
from gdx._tree_like import tree_batch_shape as batch_shape
from gdx._tree_like import tree_dtype as dtype
from gdx._tree_like import tree_full_like as full_like
from gdx._tree_like import tree_ones_like as ones_like
from gdx._tree_like import tree_random_like as random_like
from gdx._tree_like import tree_split_key_like as split_key_like
from gdx._tree_like import tree_unwrap_random_key_data as unwrap_random_key_data

# Names re-exported under a different name than their home module gives them.
__all__ = [
    "add",
    "add_scale",
    "allclose",
    "batch_shape",
    "bias_correction",
    "cast",
    "cast_like",
    "clip",
    "conj",
    "div",
    "dtype",
    "full_like",
    "get",
    "get_all_with_path",
    "map_params",
    "max",
    "min",
    "mul",
    "norm",
    "ones_like",
    "random_like",
    "real",
    "scale",
    "set",
    "size",
    "split_key_like",
    "sub",
    "sum",
    "unwrap_random_key_data",
    "update_infinity_moment",
    "update_moment",
    "update_moment_per_elem_norm",
    "vdot",
    "where",
    "zeros_like",
]
