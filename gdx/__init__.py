"""gdx: composable, optax-compatible gradient transformations for JAX.

Every public name is re-exported here explicitly from its home module, so
`optax.X` -> `gdx.X` is a drop-in change for the names both libraries have.
"""

__version__ = "0.1.0"


# Namespaces: optax's (transforms, schedules, tree, tree_utils, contrib) and gdx's own.
from gdx import checkpoint as checkpoint
from gdx import contrib as contrib
from gdx import diagnostics as diagnostics
from gdx import distributed as distributed
from gdx import flat as flat
from gdx import microbatching as microbatching
from gdx import precision as precision
from gdx import schedules as schedules
from gdx import transforms as transforms
from gdx import tree as tree
from gdx import tree_utils as tree_utils

# Tree helpers optax exports at its top level.
from gdx._common.moments import safe_increment as safe_increment
from gdx._common.moments import safe_int32_increment as safe_int32_increment
from gdx._common.tree_math import global_norm as global_norm

# The protocol, chain and the types.
from gdx.core import EmptyState as EmptyState
from gdx.core import GradientTransformation as GradientTransformation
from gdx.core import GradientTransformationExtraArgs as GradientTransformationExtraArgs
from gdx.core import MaskOrFn as MaskOrFn
from gdx.core import OptState as OptState
from gdx.core import Params as Params
from gdx.core import ScalarOrSchedule as ScalarOrSchedule
from gdx.core import Schedule as Schedule
from gdx.core import TransformInitFn as TransformInitFn
from gdx.core import TransformUpdateExtraArgsFn as TransformUpdateExtraArgsFn
from gdx.core import TransformUpdateFn as TransformUpdateFn
from gdx.core import Updates as Updates
from gdx.core import apply_updates as apply_updates
from gdx.core import chain as chain
from gdx.core import identity as identity
from gdx.core import init_empty_state as init_empty_state
from gdx.core import named_chain as named_chain
from gdx.core import set_to_zero as set_to_zero
from gdx.core import stateless as stateless
from gdx.core import stateless_with_tree_map as stateless_with_tree_map
from gdx.core import with_extra_args_support as with_extra_args_support

# Diagnostics.
from gdx.diagnostics.lr_range import lr_find as lr_find

# Distributions.
from gdx.distributions import MultiNormalDiagFromLogScale as MultiNormalDiagFromLogScale
from gdx.distributions import multi_normal as multi_normal

# Packed (fused) execution; flat-params mode is the namespace gdx.flat above.
from gdx.fused.packed import FusedState as FusedState
from gdx.fused.packed import fuse as fuse
from gdx.fused.packed import fuse_state_pack as fuse_state_pack
from gdx.fused.packed import fuse_state_view as fuse_state_view

# Converting states to and from optax.
from gdx.interop import from_optax_state as from_optax_state
from gdx.interop import to_optax_state as to_optax_state

# Linear algebra the optimizers use.
from gdx.linear_algebra import matrix_inverse_pth_root as matrix_inverse_pth_root
from gdx.linear_algebra import nnls as nnls
from gdx.linear_algebra import power_iteration as power_iteration

# Memory reports.
from gdx.memory import MemoryReport as MemoryReport
from gdx.memory import memory_report as memory_report

# Microbatched gradients.
from gdx.microbatching import microbatch as microbatch

# optax's monitor, snapshot and measure_with_ema.
from gdx.monitoring import MonitorState as MonitorState
from gdx.monitoring import SnapshotState as SnapshotState
from gdx.monitoring import measure_with_ema as measure_with_ema
from gdx.monitoring import monitor as monitor
from gdx.monitoring import snapshot as snapshot

# Numerics.
from gdx.numerics import safe_norm as safe_norm
from gdx.numerics import safe_root_mean_squares as safe_root_mean_squares

# Named optimizers: each a chain of transforms.
from gdx.optimizers.acprop import acprop as acprop
from gdx.optimizers.adadelta import adadelta as adadelta
from gdx.optimizers.adafactor import adafactor as adafactor
from gdx.optimizers.adagrad import adagrad as adagrad
from gdx.optimizers.adam import adam as adam
from gdx.optimizers.adam import amsgrad as amsgrad
from gdx.optimizers.adam import nadam as nadam
from gdx.optimizers.adam_variants import adabelief as adabelief
from gdx.optimizers.adam_variants import radam as radam
from gdx.optimizers.adam_variants import yogi as yogi
from gdx.optimizers.adamax import adamax as adamax
from gdx.optimizers.adamax import adamaxw as adamaxw
from gdx.optimizers.adamw import adamw as adamw
from gdx.optimizers.adamw import nadamw as nadamw
from gdx.optimizers.adan import adan as adan
from gdx.optimizers.ademamix import ademamix as ademamix
from gdx.optimizers.ademamix import simplified_ademamix as simplified_ademamix
from gdx.optimizers.adopt import adopt as adopt
from gdx.optimizers.cocob import cocob as cocob
from gdx.optimizers.dadapt import dadapt_adamw as dadapt_adamw
from gdx.optimizers.dog import dog as dog
from gdx.optimizers.dog import dowg as dowg
from gdx.optimizers.dpsgd import dpsgd as dpsgd
from gdx.optimizers.fromage import fromage as fromage
from gdx.optimizers.galore import galore as galore
from gdx.optimizers.layerwise import lamb as lamb
from gdx.optimizers.layerwise import lars as lars
from gdx.optimizers.lbfgs import lbfgs as lbfgs
from gdx.optimizers.lion import lion as lion
from gdx.optimizers.madgrad import madgrad as madgrad
from gdx.optimizers.momo import momo as momo
from gdx.optimizers.momo import momo_adam as momo_adam
from gdx.optimizers.muon import muon as muon
from gdx.optimizers.noisy_sgd import noisy_sgd as noisy_sgd
from gdx.optimizers.novograd import novograd as novograd
from gdx.optimizers.optimistic import optimistic_adam as optimistic_adam
from gdx.optimizers.optimistic import optimistic_adam_v2 as optimistic_adam_v2
from gdx.optimizers.optimistic import optimistic_gradient_descent as optimistic_gradient_descent
from gdx.optimizers.polyak_sgd import polyak_sgd as polyak_sgd
from gdx.optimizers.prodigy import prodigy as prodigy
from gdx.optimizers.rmsprop import rmsprop as rmsprop
from gdx.optimizers.schedule_free import ScheduleFreeState as ScheduleFreeState
from gdx.optimizers.schedule_free import schedule_free as schedule_free
from gdx.optimizers.schedule_free import schedule_free_adamw as schedule_free_adamw
from gdx.optimizers.schedule_free import schedule_free_eval_params as schedule_free_eval_params
from gdx.optimizers.schedule_free import schedule_free_sgd as schedule_free_sgd
from gdx.optimizers.sgd import sgd as sgd
from gdx.optimizers.shampoo import shampoo as shampoo
from gdx.optimizers.sign_sgd import rprop as rprop
from gdx.optimizers.sign_sgd import sign_sgd as sign_sgd
from gdx.optimizers.sign_sgd import signum as signum
from gdx.optimizers.sm3 import sm3 as sm3
from gdx.optimizers.soap import soap as soap
from gdx.optimizers.sophia import sophia as sophia

# Schedules: step -> learning rate.
from gdx.schedules.cosine import cosine_decay_schedule as cosine_decay_schedule
from gdx.schedules.cosine import cosine_onecycle_schedule as cosine_onecycle_schedule
from gdx.schedules.cosine import linear_onecycle_schedule as linear_onecycle_schedule
from gdx.schedules.cosine import sgdr_schedule as sgdr_schedule
from gdx.schedules.cosine import warmup_cosine_decay_schedule as warmup_cosine_decay_schedule
from gdx.schedules.joined import join_schedules as join_schedules
from gdx.schedules.joined import warmup_constant_schedule as warmup_constant_schedule
from gdx.schedules.joined import warmup_exponential_decay_schedule as warmup_exponential_decay_schedule
from gdx.schedules.plateau import ReduceLROnPlateauState as ReduceLROnPlateauState
from gdx.schedules.plateau import reduce_on_plateau as reduce_on_plateau
from gdx.schedules.polynomial import constant_schedule as constant_schedule
from gdx.schedules.polynomial import exponential_decay as exponential_decay
from gdx.schedules.polynomial import linear_schedule as linear_schedule
from gdx.schedules.polynomial import piecewise_constant_schedule as piecewise_constant_schedule
from gdx.schedules.polynomial import piecewise_interpolate_schedule as piecewise_interpolate_schedule
from gdx.schedules.polynomial import polynomial_schedule as polynomial_schedule
from gdx.schedules.torch_style import cosine_warm_restarts_schedule as cosine_warm_restarts_schedule
from gdx.schedules.torch_style import cyclic_schedule as cyclic_schedule
from gdx.schedules.torch_style import step_decay_schedule as step_decay_schedule
from gdx.schedules.torch_style import warmup_linear_decay_schedule as warmup_linear_decay_schedule

# Transforms: the scale_by_* / add_* / clip_* building blocks and their states.
from gdx.transforms.acprop import scale_by_acprop as scale_by_acprop
from gdx.transforms.adadelta import ScaleByAdaDeltaState as ScaleByAdaDeltaState
from gdx.transforms.adadelta import scale_by_adadelta as scale_by_adadelta
from gdx.transforms.adam import ScaleByAdamState as ScaleByAdamState
from gdx.transforms.adam import ScaleByAmsgradState as ScaleByAmsgradState
from gdx.transforms.adam import scale_by_adam as scale_by_adam
from gdx.transforms.adam import scale_by_adamax as scale_by_adamax
from gdx.transforms.adam import scale_by_amsgrad as scale_by_amsgrad
from gdx.transforms.adam_variants import ScaleByBeliefState as ScaleByBeliefState
from gdx.transforms.adam_variants import scale_by_belief as scale_by_belief
from gdx.transforms.adam_variants import scale_by_radam as scale_by_radam
from gdx.transforms.adam_variants import scale_by_yogi as scale_by_yogi
from gdx.transforms.adan import ScaleByAdanState as ScaleByAdanState
from gdx.transforms.adan import scale_by_adan as scale_by_adan
from gdx.transforms.adaptive_clipping import AdaptiveGradClipState as AdaptiveGradClipState
from gdx.transforms.adaptive_clipping import adaptive_grad_clip as adaptive_grad_clip
from gdx.transforms.adaptive_clipping import clip_by_block_rms as clip_by_block_rms
from gdx.transforms.adaptive_clipping import unitwise_clip as unitwise_clip
from gdx.transforms.adaptive_clipping import unitwise_norm as unitwise_norm
from gdx.transforms.ademamix import ScaleByAdemamixState as ScaleByAdemamixState
from gdx.transforms.ademamix import ScaleBySimplifiedAdEMAMixState as ScaleBySimplifiedAdEMAMixState
from gdx.transforms.ademamix import scale_by_ademamix as scale_by_ademamix
from gdx.transforms.ademamix import scale_by_simplified_ademamix as scale_by_simplified_ademamix
from gdx.transforms.adopt import scale_by_adopt as scale_by_adopt
from gdx.transforms.block import scale_by_param_block_norm as scale_by_param_block_norm
from gdx.transforms.block import scale_by_param_block_rms as scale_by_param_block_rms
from gdx.transforms.clipping import ClipByGlobalNormState as ClipByGlobalNormState
from gdx.transforms.clipping import ClipState as ClipState
from gdx.transforms.clipping import clip as clip
from gdx.transforms.clipping import clip_by_global_norm as clip_by_global_norm
from gdx.transforms.constraints import NonNegativeParamsState as NonNegativeParamsState
from gdx.transforms.constraints import ZeroNansState as ZeroNansState
from gdx.transforms.constraints import keep_params_nonnegative as keep_params_nonnegative
from gdx.transforms.constraints import zero_nans as zero_nans
from gdx.transforms.decay import AddDecayedWeightsState as AddDecayedWeightsState
from gdx.transforms.decay import add_decayed_weights as add_decayed_weights
from gdx.transforms.factored import FactoredState as FactoredState
from gdx.transforms.factored import scale_by_factored_rms as scale_by_factored_rms
from gdx.transforms.galore import GaLoreDimensionNumbers as GaLoreDimensionNumbers
from gdx.transforms.galore import GaLoreState as GaLoreState
from gdx.transforms.galore import scale_by_galore as scale_by_galore
from gdx.transforms.gradient_scaling import scale_gradient as scale_gradient
from gdx.transforms.lbfgs import ScaleByLBFGSState as ScaleByLBFGSState
from gdx.transforms.lbfgs import scale_by_lbfgs as scale_by_lbfgs
from gdx.transforms.linesearch.backtracking import (
    ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState,
)
from gdx.transforms.linesearch.backtracking import (
    scale_by_backtracking_linesearch as scale_by_backtracking_linesearch,
)
from gdx.transforms.linesearch.backtracking import value_and_grad_from_state as value_and_grad_from_state
from gdx.transforms.linesearch.zoom import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from gdx.transforms.linesearch.zoom import ZoomLinesearchInfo as ZoomLinesearchInfo
from gdx.transforms.linesearch.zoom import scale_by_zoom_linesearch as scale_by_zoom_linesearch
from gdx.transforms.lr_free.cocob import COCOBState as COCOBState
from gdx.transforms.lr_free.cocob import scale_by_cocob as scale_by_cocob
from gdx.transforms.lr_free.dadapt import DAdaptAdamWState as DAdaptAdamWState
from gdx.transforms.lr_free.dog import DoGState as DoGState
from gdx.transforms.lr_free.dog import DoWGState as DoWGState
from gdx.transforms.lr_free.momo import MomoAdamState as MomoAdamState
from gdx.transforms.lr_free.momo import MomoState as MomoState
from gdx.transforms.lr_free.prodigy import ProdigyState as ProdigyState
from gdx.transforms.madgrad import MadgradState as MadgradState
from gdx.transforms.madgrad import scale_by_madgrad as scale_by_madgrad
from gdx.transforms.momentum import EmaState as EmaState
from gdx.transforms.momentum import TraceState as TraceState
from gdx.transforms.momentum import ema as ema
from gdx.transforms.momentum import trace as trace
from gdx.transforms.noise import AddNoiseState as AddNoiseState
from gdx.transforms.noise import add_noise as add_noise
from gdx.transforms.normalization import NormalizeState as NormalizeState
from gdx.transforms.normalization import centralize as centralize
from gdx.transforms.normalization import normalize as normalize
from gdx.transforms.normalization import normalize_by_update_norm as normalize_by_update_norm
from gdx.transforms.novograd import ScaleByNovogradState as ScaleByNovogradState
from gdx.transforms.novograd import scale_by_novograd as scale_by_novograd
from gdx.transforms.optimistic import ScaleByOptimisticGradientState as ScaleByOptimisticGradientState
from gdx.transforms.optimistic import scale_by_optimistic_gradient as scale_by_optimistic_gradient
from gdx.transforms.per_example import per_example_global_norm_clip as per_example_global_norm_clip
from gdx.transforms.per_example import per_example_layer_norm_clip as per_example_layer_norm_clip
from gdx.transforms.preconditioners.muon import MuonDimensionNumbers as MuonDimensionNumbers
from gdx.transforms.preconditioners.muon import MuonState as MuonState
from gdx.transforms.preconditioners.muon import scale_by_muon as scale_by_muon
from gdx.transforms.preconditioners.shampoo import ShampooState as ShampooState
from gdx.transforms.preconditioners.shampoo import scale_by_shampoo as scale_by_shampoo
from gdx.transforms.preconditioners.soap import SoapState as SoapState
from gdx.transforms.preconditioners.soap import scale_by_soap as scale_by_soap
from gdx.transforms.privacy import DifferentiallyPrivateAggregateState as DifferentiallyPrivateAggregateState
from gdx.transforms.privacy import differentially_private_aggregate as differentially_private_aggregate
from gdx.transforms.rms import ScaleByRmsState as ScaleByRmsState
from gdx.transforms.rms import ScaleByRmsWithCountState as ScaleByRmsWithCountState
from gdx.transforms.rms import ScaleByRssState as ScaleByRssState
from gdx.transforms.rms import ScaleByRStdDevState as ScaleByRStdDevState
from gdx.transforms.rms import ScaleByRStdDevWithCountState as ScaleByRStdDevWithCountState
from gdx.transforms.rms import scale_by_rms as scale_by_rms
from gdx.transforms.rms import scale_by_rss as scale_by_rss
from gdx.transforms.rms import scale_by_stddev as scale_by_stddev
from gdx.transforms.scaling import ScaleByScheduleState as ScaleByScheduleState
from gdx.transforms.scaling import ScaleState as ScaleState
from gdx.transforms.scaling import scale as scale
from gdx.transforms.scaling import scale_by_learning_rate as scale_by_learning_rate
from gdx.transforms.scaling import scale_by_schedule as scale_by_schedule
from gdx.transforms.sign import ScaleByLionState as ScaleByLionState
from gdx.transforms.sign import ScaleByRpropState as ScaleByRpropState
from gdx.transforms.sign import scale_by_lion as scale_by_lion
from gdx.transforms.sign import scale_by_rprop as scale_by_rprop
from gdx.transforms.sign import scale_by_sign as scale_by_sign
from gdx.transforms.sm3 import ScaleBySM3State as ScaleBySM3State
from gdx.transforms.sm3 import scale_by_sm3 as scale_by_sm3
from gdx.transforms.sophia import HutchinsonState as HutchinsonState
from gdx.transforms.sophia import SophiaState as SophiaState
from gdx.transforms.sophia import hutchinson_estimator_diag_hessian as hutchinson_estimator_diag_hessian
from gdx.transforms.step_size import ScaleByDistanceOverGradientsState as ScaleByDistanceOverGradientsState
from gdx.transforms.step_size import scale_by_distance_over_gradients as scale_by_distance_over_gradients
from gdx.transforms.step_size import scale_by_polyak as scale_by_polyak
from gdx.transforms.trust_ratio import ScaleByTrustRatioState as ScaleByTrustRatioState
from gdx.transforms.trust_ratio import scale_by_trust_ratio as scale_by_trust_ratio

# Tree arithmetic.
from gdx.tree_math import bias_correction as bias_correction
from gdx.tree_math import incremental_update as incremental_update
from gdx.tree_math import periodic_update as periodic_update
from gdx.tree_math import update_infinity_moment as update_infinity_moment
from gdx.tree_math import update_moment as update_moment
from gdx.tree_math import update_moment_per_elem_norm as update_moment_per_elem_norm

# optax's tree utilities.
from gdx.tree_utils import tree_map_params as tree_map_params

# Wrappers: transformations of transformations.
from gdx.wrappers.accumulation import ApplyEvery as ApplyEvery
from gdx.wrappers.accumulation import MultiSteps as MultiSteps
from gdx.wrappers.accumulation import MultiStepsState as MultiStepsState
from gdx.wrappers.accumulation import ShouldSkipUpdateFunction as ShouldSkipUpdateFunction
from gdx.wrappers.accumulation import apply_every as apply_every
from gdx.wrappers.accumulation import skip_large_updates as skip_large_updates
from gdx.wrappers.accumulation import skip_not_finite as skip_not_finite
from gdx.wrappers.complex_split import SplitRealAndImaginaryState as SplitRealAndImaginaryState
from gdx.wrappers.complex_split import split_real_and_imaginary as split_real_and_imaginary
from gdx.wrappers.conditional import ApplyIfFiniteState as ApplyIfFiniteState
from gdx.wrappers.conditional import ConditionallyMaskState as ConditionallyMaskState
from gdx.wrappers.conditional import ConditionallyTransformState as ConditionallyTransformState
from gdx.wrappers.conditional import ConditionFn as ConditionFn
from gdx.wrappers.conditional import apply_if_finite as apply_if_finite
from gdx.wrappers.conditional import conditionally_mask as conditionally_mask
from gdx.wrappers.conditional import conditionally_transform as conditionally_transform
from gdx.wrappers.ema_params import EmaParamsState as EmaParamsState
from gdx.wrappers.ema_params import ema_params as ema_params
from gdx.wrappers.ema_params import get_ema_params as get_ema_params
from gdx.wrappers.flatten import flatten as flatten
from gdx.wrappers.inject import InjectHyperparamsState as InjectHyperparamsState
from gdx.wrappers.inject import InjectStatefulHyperparamsState as InjectStatefulHyperparamsState
from gdx.wrappers.inject import StatefulSchedule as StatefulSchedule
from gdx.wrappers.inject import WrappedSchedule as WrappedSchedule
from gdx.wrappers.inject import WrappedScheduleState as WrappedScheduleState
from gdx.wrappers.inject import inject_hyperparams as inject_hyperparams
from gdx.wrappers.inject import inject_stateful_hyperparams as inject_stateful_hyperparams
from gdx.wrappers.lookahead import LookaheadParams as LookaheadParams
from gdx.wrappers.lookahead import LookaheadState as LookaheadState
from gdx.wrappers.lookahead import lookahead as lookahead
from gdx.wrappers.masked import MaskedNode as MaskedNode
from gdx.wrappers.masked import MaskedState as MaskedState
from gdx.wrappers.masked import masked as masked
from gdx.wrappers.mechanize import MechanicState as MechanicState
from gdx.wrappers.mechanize import mechanize as mechanize
from gdx.wrappers.partition import MultiTransformState as MultiTransformState
from gdx.wrappers.partition import PartitionState as PartitionState
from gdx.wrappers.partition import freeze as freeze
from gdx.wrappers.partition import label_by_regex as label_by_regex
from gdx.wrappers.partition import multi_transform as multi_transform
from gdx.wrappers.partition import param_paths as param_paths
from gdx.wrappers.partition import partition as partition
from gdx.wrappers.partition import partition_labels as partition_labels
from gdx.wrappers.partition import selective_transform as selective_transform
from gdx.wrappers.reset import reset_substate as reset_substate
from gdx.wrappers.sam import SAMState as SAMState
from gdx.wrappers.sam import sam as sam
