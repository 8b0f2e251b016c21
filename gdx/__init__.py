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
from gdx.transforms.scaling import ScaleByScheduleState as ScaleByScheduleState
from gdx.transforms.scaling import ScaleState as ScaleState
from gdx.transforms.scaling import scale as scale
from gdx.transforms.scaling import scale_by_learning_rate as scale_by_learning_rate
from gdx.transforms.scaling import scale_by_schedule as scale_by_schedule

# --- wrappers ---------------------------------------------------------------
# (begin wrappers)
from gdx.wrappers.masked import MaskedNode as MaskedNode
from gdx.wrappers.masked import MaskedState as MaskedState
from gdx.wrappers.masked import masked as masked
# (end wrappers)

# --- transforms: scaling, clipping, momentum, decay, trust ratio, sign --------
# (begin transforms-basic)
from gdx.transforms.clipping import ClipByGlobalNormState as ClipByGlobalNormState
from gdx.transforms.clipping import ClipState as ClipState
from gdx.transforms.clipping import clip as clip
from gdx.transforms.clipping import clip_by_global_norm as clip_by_global_norm
from gdx.transforms.decay import AddDecayedWeightsState as AddDecayedWeightsState
from gdx.transforms.decay import add_decayed_weights as add_decayed_weights
from gdx.transforms.momentum import EmaState as EmaState
from gdx.transforms.momentum import TraceState as TraceState
from gdx.transforms.momentum import ema as ema
from gdx.transforms.momentum import trace as trace
from gdx.transforms.sign import ScaleByLionState as ScaleByLionState
from gdx.transforms.sign import scale_by_lion as scale_by_lion
from gdx.transforms.trust_ratio import ScaleByTrustRatioState as ScaleByTrustRatioState
from gdx.transforms.trust_ratio import scale_by_trust_ratio as scale_by_trust_ratio
# (end transforms-basic)

# --- transforms: adaptive (Adam family, RMS family) ---------------------------
# (begin transforms-adaptive)
# (end transforms-adaptive)

# --- optimizers: sgd, lion, lamb, lars ----------------------------------------
# (begin optimizers-basic)
from gdx.optimizers.layerwise import lamb as lamb
from gdx.optimizers.layerwise import lars as lars
from gdx.optimizers.lion import lion as lion
from gdx.optimizers.sgd import sgd as sgd
# (end optimizers-basic)

# --- optimizers: Adam family, adagrad, rmsprop --------------------------------
# (begin optimizers-adaptive)
# (end optimizers-adaptive)

# --- schedules --------------------------------------------------------------
# (begin schedules)
# (end schedules)
