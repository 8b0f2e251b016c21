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
from gdx.transforms.adam import ScaleByAdamState as ScaleByAdamState
from gdx.transforms.adam import ScaleByAmsgradState as ScaleByAmsgradState
from gdx.transforms.adam import scale_by_adam as scale_by_adam
from gdx.transforms.adam import scale_by_adamax as scale_by_adamax
from gdx.transforms.adam import scale_by_amsgrad as scale_by_amsgrad
from gdx.transforms.rms import ScaleByRmsState as ScaleByRmsState
from gdx.transforms.rms import ScaleByRmsWithCountState as ScaleByRmsWithCountState
from gdx.transforms.rms import ScaleByRssState as ScaleByRssState
from gdx.transforms.rms import ScaleByRStdDevState as ScaleByRStdDevState
from gdx.transforms.rms import ScaleByRStdDevWithCountState as ScaleByRStdDevWithCountState
from gdx.transforms.rms import scale_by_rms as scale_by_rms
from gdx.transforms.rms import scale_by_rss as scale_by_rss
from gdx.transforms.rms import scale_by_stddev as scale_by_stddev
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
from gdx.optimizers.adagrad import adagrad as adagrad
from gdx.optimizers.adam import adam as adam
from gdx.optimizers.adam import amsgrad as amsgrad
from gdx.optimizers.adam import nadam as nadam
from gdx.optimizers.adamax import adamax as adamax
from gdx.optimizers.adamax import adamaxw as adamaxw
from gdx.optimizers.adamw import adamw as adamw
from gdx.optimizers.adamw import nadamw as nadamw
from gdx.optimizers.rmsprop import rmsprop as rmsprop
# (end optimizers-adaptive)

# --- schedules --------------------------------------------------------------
# (begin schedules)
from gdx.schedules.cosine import cosine_decay_schedule as cosine_decay_schedule
from gdx.schedules.cosine import cosine_onecycle_schedule as cosine_onecycle_schedule
from gdx.schedules.cosine import linear_onecycle_schedule as linear_onecycle_schedule
from gdx.schedules.cosine import sgdr_schedule as sgdr_schedule
from gdx.schedules.cosine import warmup_cosine_decay_schedule as warmup_cosine_decay_schedule
from gdx.schedules.join import join_schedules as join_schedules
from gdx.schedules.join import warmup_constant_schedule as warmup_constant_schedule
from gdx.schedules.join import warmup_exponential_decay_schedule as warmup_exponential_decay_schedule
from gdx.schedules.polynomial import constant_schedule as constant_schedule
from gdx.schedules.polynomial import exponential_decay as exponential_decay
from gdx.schedules.polynomial import linear_schedule as linear_schedule
from gdx.schedules.polynomial import piecewise_constant_schedule as piecewise_constant_schedule
from gdx.schedules.polynomial import piecewise_interpolate_schedule as piecewise_interpolate_schedule
from gdx.schedules.polynomial import polynomial_schedule as polynomial_schedule
# (end schedules)

# --- catalog (optax's complete core): optimizers ------------------------------
# (begin catalog-optimizers-a)
from gdx.optimizers.adadelta import adadelta as adadelta
from gdx.optimizers.adam_variants import adabelief as adabelief
from gdx.optimizers.adam_variants import radam as radam
from gdx.optimizers.adam_variants import yogi as yogi
from gdx.optimizers.adan import adan as adan
from gdx.optimizers.novograd import novograd as novograd
from gdx.optimizers.optimistic import optimistic_adam as optimistic_adam
from gdx.optimizers.optimistic import optimistic_adam_v2 as optimistic_adam_v2
from gdx.optimizers.optimistic import optimistic_gradient_descent as optimistic_gradient_descent
from gdx.optimizers.sign_sgd import rprop as rprop
from gdx.optimizers.sign_sgd import sign_sgd as sign_sgd
from gdx.optimizers.sign_sgd import signum as signum
from gdx.transforms.adadelta import ScaleByAdaDeltaState as ScaleByAdaDeltaState
from gdx.transforms.adadelta import scale_by_adadelta as scale_by_adadelta
from gdx.transforms.adam_variants import ScaleByBeliefState as ScaleByBeliefState
from gdx.transforms.adam_variants import scale_by_belief as scale_by_belief
from gdx.transforms.adam_variants import scale_by_radam as scale_by_radam
from gdx.transforms.adam_variants import scale_by_yogi as scale_by_yogi
from gdx.transforms.adan import ScaleByAdanState as ScaleByAdanState
from gdx.transforms.adan import scale_by_adan as scale_by_adan
from gdx.transforms.novograd import ScaleByNovogradState as ScaleByNovogradState
from gdx.transforms.novograd import scale_by_novograd as scale_by_novograd
from gdx.transforms.optimistic import ScaleByOptimisticGradientState as ScaleByOptimisticGradientState
from gdx.transforms.optimistic import scale_by_optimistic_gradient as scale_by_optimistic_gradient
from gdx.transforms.sign_steps import ScaleByRpropState as ScaleByRpropState
from gdx.transforms.sign_steps import scale_by_rprop as scale_by_rprop
from gdx.transforms.sign_steps import scale_by_sign as scale_by_sign
# (end catalog-optimizers-a)
# (begin catalog-optimizers-b)
# (end catalog-optimizers-b)
# (begin catalog-lbfgs)
# (end catalog-lbfgs)

# --- catalog: wrappers and combinators ----------------------------------------
# (begin catalog-wrappers)
# (end catalog-wrappers)

# --- catalog: transforms, tree utilities, state conversion, schedules ---------
# (begin catalog-transforms)
# (end catalog-transforms)
