"""Training diagnostics: per-step metrics, gradient checks, a training doctor, a learning-rate finder."""

from gdx.diagnostics.diagnosis import Diagnosis as Diagnosis
from gdx.diagnostics.diagnosis import doctor as doctor
from gdx.diagnostics.gradcheck import GradCheckReport as GradCheckReport
from gdx.diagnostics.gradcheck import GradientCheckError as GradientCheckError
from gdx.diagnostics.gradcheck import LeafCheck as LeafCheck
from gdx.diagnostics.gradcheck import check_grads as check_grads
from gdx.diagnostics.health import HealthMonitorState as HealthMonitorState
from gdx.diagnostics.health import MonitorState as MonitorState
from gdx.diagnostics.health import health_monitor as health_monitor
from gdx.diagnostics.health import metrics as metrics
from gdx.diagnostics.health import monitor as monitor
from gdx.diagnostics.lr_range import LRFindResult as LRFindResult
from gdx.diagnostics.lr_range import lr_find as lr_find
