"""`gdx.diagnostics.health_monitor` is the per-step health monitor; its old names stay aliases."""

from gdx import diagnostics, monitoring


def test_old_names_are_the_same_objects():
    assert diagnostics.monitor is diagnostics.health_monitor
    assert diagnostics.MonitorState is diagnostics.HealthMonitorState


def test_optax_monitor_keeps_its_names_and_differs():
    # gdx.monitor / gdx.transforms.MonitorState are optax's `monitor(measures)`.
    assert monitoring.monitor is not diagnostics.health_monitor
    assert monitoring.MonitorState is not diagnostics.HealthMonitorState
    assert diagnostics.HealthMonitorState.__name__ == "HealthMonitorState"
