"""Drop-in names for `optax.contrib`: `import gdx.contrib as contrib` where code used `optax.contrib`.

Every name here also lives at gdx's top level, where it is documented; this
module only re-exports it under optax's path.
"""

# Named optimizers: each a chain of transforms.
from gdx.optimizers.acprop import acprop as acprop
from gdx.optimizers.ademamix import ademamix as ademamix
from gdx.optimizers.ademamix import simplified_ademamix as simplified_ademamix
from gdx.optimizers.adopt import adopt as adopt
from gdx.optimizers.cocob import cocob as cocob
from gdx.optimizers.dadapt import dadapt_adamw as dadapt_adamw
from gdx.optimizers.dog import dog as dog
from gdx.optimizers.dog import dowg as dowg
from gdx.optimizers.dpsgd import dpsgd as dpsgd
from gdx.optimizers.galore import galore as galore
from gdx.optimizers.madgrad import madgrad as madgrad
from gdx.optimizers.momo import momo as momo
from gdx.optimizers.momo import momo_adam as momo_adam
from gdx.optimizers.muon import muon as muon
from gdx.optimizers.prodigy import prodigy as prodigy
from gdx.optimizers.schedule_free import ScheduleFreeState as ScheduleFreeState
from gdx.optimizers.schedule_free import schedule_free as schedule_free
from gdx.optimizers.schedule_free import schedule_free_adamw as schedule_free_adamw
from gdx.optimizers.schedule_free import schedule_free_eval_params as schedule_free_eval_params
from gdx.optimizers.schedule_free import schedule_free_sgd as schedule_free_sgd
from gdx.optimizers.sophia import sophia as sophia

# Schedules: step -> learning rate.
from gdx.schedules.plateau import ReduceLROnPlateauState as ReduceLROnPlateauState
from gdx.schedules.plateau import reduce_on_plateau as reduce_on_plateau

# Transforms: the scale_by_* / add_* / clip_* building blocks and their states.
from gdx.transforms.acprop import scale_by_acprop as scale_by_acprop
from gdx.transforms.ademamix import ScaleByAdemamixState as ScaleByAdemamixState
from gdx.transforms.ademamix import ScaleBySimplifiedAdEMAMixState as ScaleBySimplifiedAdEMAMixState
from gdx.transforms.ademamix import scale_by_ademamix as scale_by_ademamix
from gdx.transforms.ademamix import scale_by_simplified_ademamix as scale_by_simplified_ademamix
from gdx.transforms.adopt import scale_by_adopt as scale_by_adopt
from gdx.transforms.galore import GaLoreDimensionNumbers as GaLoreDimensionNumbers
from gdx.transforms.galore import GaLoreState as GaLoreState
from gdx.transforms.galore import scale_by_galore as scale_by_galore
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
from gdx.transforms.normalization import NormalizeState as NormalizeState
from gdx.transforms.normalization import normalize as normalize
from gdx.transforms.preconditioners.muon import MuonDimensionNumbers as MuonDimensionNumbers
from gdx.transforms.preconditioners.muon import MuonState as MuonState
from gdx.transforms.preconditioners.muon import scale_by_muon as scale_by_muon
from gdx.transforms.privacy import DifferentiallyPrivateAggregateState as DifferentiallyPrivateAggregateState
from gdx.transforms.privacy import differentially_private_aggregate as differentially_private_aggregate
from gdx.transforms.sophia import HutchinsonState as HutchinsonState
from gdx.transforms.sophia import SophiaState as SophiaState
from gdx.transforms.sophia import hutchinson_estimator_diag_hessian as hutchinson_estimator_diag_hessian

# Wrappers: transformations of transformations.
from gdx.wrappers.complex_split import SplitRealAndImaginaryState as SplitRealAndImaginaryState
from gdx.wrappers.complex_split import split_real_and_imaginary as split_real_and_imaginary
from gdx.wrappers.mechanize import MechanicState as MechanicState
from gdx.wrappers.mechanize import mechanize as mechanize
from gdx.wrappers.sam import SAMState as SAMState
from gdx.wrappers.sam import sam as sam
