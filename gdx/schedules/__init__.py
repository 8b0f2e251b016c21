"""Schedules: functions from the step count to a value (learning rate, momentum, ...).

Same names, arguments and numbers as `optax.schedules` (0.2.8), with bad
arguments rejected at construction and two jitted-numerics fixes (see
`polynomial_schedule` and `exponential_decay`). Beyond optax: PyTorch's and
Hugging Face's common schedules (`step_decay_schedule`, `cyclic_schedule`,
`warmup_linear_decay_schedule`, `cosine_warm_restarts_schedule`),
`reduce_on_plateau` (optax keeps it in `optax.contrib`) and `plot(schedule, steps, path)`.
As in optax, `inject_hyperparams` and its states are also here (their home is
`gdx.wrappers.inject`).
"""

from gdx.core import Schedule as Schedule
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
from gdx.schedules.plotting import plot as plot
from gdx.schedules.polynomial import constant_schedule as constant_schedule
from gdx.schedules.polynomial import exponential_decay as exponential_decay
from gdx.schedules.polynomial import linear_schedule as linear_schedule
from gdx.schedules.polynomial import piecewise_constant_schedule as piecewise_constant_schedule
from gdx.schedules.polynomial import piecewise_interpolate_schedule as piecewise_interpolate_schedule
from gdx.schedules.polynomial import polynomial_schedule as polynomial_schedule
from gdx.schedules.torch_style import CosineWarmRestartsSchedule as CosineWarmRestartsSchedule
from gdx.schedules.torch_style import CyclicSchedule as CyclicSchedule
from gdx.schedules.torch_style import StepDecaySchedule as StepDecaySchedule
from gdx.schedules.torch_style import WarmupLinearDecaySchedule as WarmupLinearDecaySchedule
from gdx.schedules.torch_style import cosine_warm_restarts_schedule as cosine_warm_restarts_schedule
from gdx.schedules.torch_style import cyclic_schedule as cyclic_schedule
from gdx.schedules.torch_style import step_decay_schedule as step_decay_schedule
from gdx.schedules.torch_style import warmup_linear_decay_schedule as warmup_linear_decay_schedule
from gdx.wrappers.inject import InjectHyperparamsState as InjectHyperparamsState
from gdx.wrappers.inject import InjectStatefulHyperparamsState as InjectStatefulHyperparamsState
from gdx.wrappers.inject import StatefulSchedule as StatefulSchedule
from gdx.wrappers.inject import WrappedSchedule as WrappedSchedule
from gdx.wrappers.inject import WrappedScheduleState as WrappedScheduleState
from gdx.wrappers.inject import inject_hyperparams as inject_hyperparams
from gdx.wrappers.inject import inject_stateful_hyperparams as inject_stateful_hyperparams
