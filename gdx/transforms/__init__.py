"""`gdx.transforms`: every gradient transformation gdx defines, and optax 0.2.8's `optax.transforms`.

Every `scale_by_*`, `add_*`, `clip*` and the other transformations defined in the modules
of this package (and its families `lr_free/`, `linesearch/`) are re-exported here with
their State classes, so `gdx.transforms.scale_by_adam` is `gdx.scale_by_adam`, as
`optax.scale_by_adam` is optax's. The names of `optax.transforms` that gdx keeps in
`gdx.core`, `gdx.monitoring` and `gdx.wrappers` (`chain`, `masked`, `MultiSteps`, ...)
are re-exported from their home modules too: the same objects as at gdx's top level.
"""

from gdx.core import chain as chain
from gdx.core import named_chain as named_chain
from gdx.monitoring import MonitorState as MonitorState
from gdx.monitoring import SnapshotState as SnapshotState
from gdx.monitoring import measure_with_ema as measure_with_ema
from gdx.monitoring import monitor as monitor
from gdx.monitoring import snapshot as snapshot
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
from gdx.transforms.clipping import clip as clip
from gdx.transforms.clipping import clip_by_global_norm as clip_by_global_norm
from gdx.transforms.constraints import NonNegativeParamsState as NonNegativeParamsState
from gdx.transforms.constraints import ZeroNansState as ZeroNansState
from gdx.transforms.constraints import keep_params_nonnegative as keep_params_nonnegative
from gdx.transforms.constraints import zero_nans as zero_nans
from gdx.transforms.decay import add_decayed_weights as add_decayed_weights
from gdx.transforms.factored import FactoredState as FactoredState
from gdx.transforms.factored import scale_by_factored_rms as scale_by_factored_rms
from gdx.transforms.galore import GaLoreDimensionNumbers as GaLoreDimensionNumbers
from gdx.transforms.galore import GaLoreState as GaLoreState
from gdx.transforms.galore import scale_by_galore as scale_by_galore
from gdx.transforms.gradient_scaling import scale_gradient as scale_gradient
from gdx.transforms.lbfgs import ScaleByLBFGSState as ScaleByLBFGSState
from gdx.transforms.lbfgs import scale_by_lbfgs as scale_by_lbfgs
from gdx.transforms.linesearch.backtracking import BacktrackingLinesearchInfo as BacktrackingLinesearchInfo
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
from gdx.transforms.lr_free.dadapt import scale_by_dadapt_adamw as scale_by_dadapt_adamw
from gdx.transforms.lr_free.dog import DoGState as DoGState
from gdx.transforms.lr_free.dog import DoWGState as DoWGState
from gdx.transforms.lr_free.dog import scale_by_dog as scale_by_dog
from gdx.transforms.lr_free.dog import scale_by_dowg as scale_by_dowg
from gdx.transforms.lr_free.momo import MomoAdamState as MomoAdamState
from gdx.transforms.lr_free.momo import MomoState as MomoState
from gdx.transforms.lr_free.momo import scale_by_momo as scale_by_momo
from gdx.transforms.lr_free.momo import scale_by_momo_adam as scale_by_momo_adam
from gdx.transforms.lr_free.prodigy import ProdigyState as ProdigyState
from gdx.transforms.lr_free.prodigy import scale_by_prodigy as scale_by_prodigy
from gdx.transforms.madgrad import MadgradState as MadgradState
from gdx.transforms.madgrad import scale_by_madgrad as scale_by_madgrad
from gdx.transforms.momentum import EmaState as EmaState
from gdx.transforms.momentum import TraceState as TraceState
from gdx.transforms.momentum import ema as ema
from gdx.transforms.momentum import trace as trace
from gdx.transforms.noise import AddNoiseState as AddNoiseState
from gdx.transforms.noise import add_noise as add_noise
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
from gdx.transforms.preconditioners.muon import scale_by_shape as scale_by_shape
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
from gdx.transforms.sophia import scale_by_sophia as scale_by_sophia
from gdx.transforms.step_size import ScaleByDistanceOverGradientsState as ScaleByDistanceOverGradientsState
from gdx.transforms.step_size import scale_by_distance_over_gradients as scale_by_distance_over_gradients
from gdx.transforms.step_size import scale_by_polyak as scale_by_polyak
from gdx.transforms.trust_ratio import scale_by_trust_ratio as scale_by_trust_ratio
from gdx.wrappers.accumulation import MultiSteps as MultiSteps
from gdx.wrappers.accumulation import MultiStepsState as MultiStepsState
from gdx.wrappers.accumulation import ShouldSkipUpdateFunction as ShouldSkipUpdateFunction
from gdx.wrappers.accumulation import skip_large_updates as skip_large_updates
from gdx.wrappers.accumulation import skip_not_finite as skip_not_finite
from gdx.wrappers.conditional import ApplyIfFiniteState as ApplyIfFiniteState
from gdx.wrappers.conditional import ConditionallyMaskState as ConditionallyMaskState
from gdx.wrappers.conditional import ConditionallyTransformState as ConditionallyTransformState
from gdx.wrappers.conditional import ConditionFn as ConditionFn
from gdx.wrappers.conditional import apply_if_finite as apply_if_finite
from gdx.wrappers.conditional import conditionally_mask as conditionally_mask
from gdx.wrappers.conditional import conditionally_transform as conditionally_transform
from gdx.wrappers.flatten import flatten as flatten
from gdx.wrappers.masked import MaskedNode as MaskedNode
from gdx.wrappers.masked import MaskedState as MaskedState
from gdx.wrappers.masked import masked as masked
from gdx.wrappers.partition import PartitionState as PartitionState
from gdx.wrappers.partition import freeze as freeze
from gdx.wrappers.partition import partition as partition
from gdx.wrappers.partition import selective_transform as selective_transform
