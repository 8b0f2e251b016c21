"""`gdx.transforms`: optax 0.2.8's `optax.transforms`, every name; gdx's transformations live in its modules.

Each name is re-exported from its home module (most also at gdx's top
level, the same object); the rest of the family (`scale_by_adam`, ...) is in
the modules of this package and at the top level.
"""

from gdx.core import chain as chain
from gdx.core import named_chain as named_chain
from gdx.monitoring import MonitorState as MonitorState
from gdx.monitoring import SnapshotState as SnapshotState
from gdx.monitoring import measure_with_ema as measure_with_ema
from gdx.monitoring import monitor as monitor
from gdx.monitoring import snapshot as snapshot
from gdx.transforms.adaptive_clipping import adaptive_grad_clip as adaptive_grad_clip
from gdx.transforms.adaptive_clipping import clip_by_block_rms as clip_by_block_rms
from gdx.transforms.adaptive_clipping import unitwise_clip as unitwise_clip
from gdx.transforms.adaptive_clipping import unitwise_norm as unitwise_norm
from gdx.transforms.clipping import clip as clip
from gdx.transforms.clipping import clip_by_global_norm as clip_by_global_norm
from gdx.transforms.constraints import NonNegativeParamsState as NonNegativeParamsState
from gdx.transforms.constraints import ZeroNansState as ZeroNansState
from gdx.transforms.constraints import keep_params_nonnegative as keep_params_nonnegative
from gdx.transforms.constraints import zero_nans as zero_nans
from gdx.transforms.decay import add_decayed_weights as add_decayed_weights
from gdx.transforms.momentum import EmaState as EmaState
from gdx.transforms.momentum import TraceState as TraceState
from gdx.transforms.momentum import ema as ema
from gdx.transforms.momentum import trace as trace
from gdx.transforms.noise import AddNoiseState as AddNoiseState
from gdx.transforms.noise import add_noise as add_noise
from gdx.transforms.per_example import per_example_global_norm_clip as per_example_global_norm_clip
from gdx.transforms.per_example import per_example_layer_norm_clip as per_example_layer_norm_clip
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
