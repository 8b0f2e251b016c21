"""gdx: composable, optax-compatible gradient transformations for JAX.

Every public name is re-exported here explicitly from its home module, so
`optax.X` -> `gdx.X` is a drop-in change for the names both libraries have.
"""

__version__ = "0.1.0"

# --- core -------------------------------------------------------------------
from gdx._tree import global_norm as global_norm
from gdx._tree import safe_increment as safe_increment
from gdx._tree import safe_int32_increment as safe_int32_increment
from gdx.core import EmptyState as EmptyState
from gdx.core import GradientTransformation as GradientTransformation
from gdx.core import GradientTransformationExtraArgs as GradientTransformationExtraArgs
from gdx.core import OptState as OptState
from gdx.core import Params as Params
from gdx.core import Schedule as Schedule
from gdx.core import ScalarOrSchedule as ScalarOrSchedule
from gdx.core import Updates as Updates
from gdx.core import apply_updates as apply_updates
from gdx.core import chain as chain
from gdx.core import identity as identity
from gdx.core import named_chain as named_chain
from gdx.core import set_to_zero as set_to_zero
from gdx.core import stateless as stateless
from gdx.core import with_extra_args_support as with_extra_args_support

# --- wrappers ---------------------------------------------------------------
# (begin wrappers)
# (end wrappers)

# --- transforms: scaling, clipping, momentum, decay, trust ratio, sign --------
# (begin transforms-basic)
# (end transforms-basic)

# --- transforms: adaptive (Adam family, RMS family) ---------------------------
# (begin transforms-adaptive)
# (end transforms-adaptive)

# --- optimizers: sgd, lion, lamb, lars ----------------------------------------
# (begin optimizers-basic)
# (end optimizers-basic)

# --- optimizers: Adam family, adagrad, rmsprop --------------------------------
# (begin optimizers-adaptive)
# (end optimizers-adaptive)

# --- schedules --------------------------------------------------------------
# (begin schedules)
# (end schedules)
