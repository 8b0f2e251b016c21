"""Schedules beyond optax (PyTorch / Hugging Face semantics), reduce_on_plateau's behaviour, plot.

The references below are plain Python, written from PyTorch's and Hugging Face's
documented formulas (torch is not a dependency), evaluated in float64.
"""

from __future__ import annotations

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdx
from tests.parity.harness import schedule_values

# --- references ---------------------------------------------------------------------------------


def step_lr(init_value, step_size, gamma, epoch):
    """torch StepLR, closed form: lr_0 * gamma ** (epoch // step_size)."""
    return init_value * gamma ** (epoch // step_size)


def cyclic_lr(base_lr, max_lr, step_size_up, step_size_down, mode, gamma, epoch):
    """torch CyclicLR.get_lr, line by line."""
    total_size = step_size_up + step_size_down
    step_ratio = step_size_up / total_size
    cycle = math.floor(1 + epoch / total_size)
    x = 1.0 + epoch / total_size - cycle
    scale_factor = x / step_ratio if x <= step_ratio else (x - 1) / (step_ratio - 1)
    base_height = (max_lr - base_lr) * scale_factor
    if mode == "triangular":
        return base_lr + base_height * 1.0
    if mode == "triangular2":
        return base_lr + base_height * (1 / (2.0 ** (cycle - 1)))
    return base_lr + base_height * gamma**epoch  # exp_range scales by iterations


def hf_linear_with_warmup(init_value, peak_value, warmup, total, end_value, step):
    """transformers.get_linear_schedule_with_warmup's lr_lambda, from init_value and to end_value."""
    if step < warmup:
        return init_value + (peak_value - init_value) * step / max(1, warmup)
    return end_value + (peak_value - end_value) * max(0.0, (total - step) / max(1, total - warmup))


def cosine_warm_restarts(init_value, t_0, t_mult, eta_min, steps):
    """torch CosineAnnealingWarmRestarts, simulated one scheduler.step() at a time."""
    values, t_cur, t_i = [], 0, t_0
    for _ in range(steps):
        values.append(eta_min + (init_value - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2)
        t_cur += 1
        if t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * t_mult
    return values


def assert_matches(schedule, expected):
    expected = np.asarray(expected, np.float64)
    scale = max(np.max(np.abs(expected)), 1e-30)
    for jit in (True, False):
        got = schedule_values(schedule, len(expected), jit=jit) if jit else None
        if not jit:  # eager, on a few counts only (Python ints and int32 arrays)
            counts = [0, 1, len(expected) // 2, len(expected) - 1]
            got = [float(schedule(c)) for c in counts[:2]] + [
                float(schedule(jnp.int32(c))) for c in counts[2:]
            ]
            np.testing.assert_allclose(got, expected[counts], rtol=1e-6, atol=1e-7 * scale)
            continue
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7 * scale)


# --- the four schedules -------------------------------------------------------------------------


@pytest.mark.parametrize("init_value, step_size, decay_rate", [(0.1, 30, 0.1), (1.0, 7, 0.5), (3.0, 1, 0.97)])
def test_step_decay_schedule(init_value, step_size, decay_rate):
    schedule = gdx.step_decay_schedule(init_value, step_size, decay_rate)
    assert_matches(schedule, [step_lr(init_value, step_size, decay_rate, t) for t in range(200)])


CYCLIC_CASES = [
    dict(base_value=0.001, max_value=0.006, step_size_up=20),
    dict(base_value=0.1, max_value=1.0, step_size_up=5, step_size_down=15, mode="triangular2"),
    dict(base_value=0.01, max_value=0.1, step_size_up=10, step_size_down=3, mode="exp_range", gamma=0.995),
    dict(base_value=1.0, max_value=0.5, step_size_up=1, step_size_down=1),  # max below base: inverted
]


@pytest.mark.parametrize("kwargs", CYCLIC_CASES, ids=[f"{k.get('mode', 'triangular')}" for k in CYCLIC_CASES])
def test_cyclic_schedule(kwargs):
    schedule = gdx.cyclic_schedule(**kwargs)
    down = kwargs.get("step_size_down", kwargs["step_size_up"])
    args = (kwargs["base_value"], kwargs["max_value"], kwargs["step_size_up"], down)
    mode, gamma = kwargs.get("mode", "triangular"), kwargs.get("gamma", 1.0)
    assert_matches(schedule, [cyclic_lr(*args, mode, gamma, t) for t in range(250)])


COUNTS = jnp.arange(300, dtype=jnp.int32)


@settings(max_examples=20, deadline=None)
@given(
    up=st.integers(1, 40),
    down=st.integers(1, 40),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    gamma=st.floats(0.9, 1.0),
)
def test_cyclic_schedule_property(up, down, mode, gamma):
    got = np.asarray(gdx.cyclic_schedule(0.5, 2.0, up, down, mode, gamma)(COUNTS))
    expected = [cyclic_lr(0.5, 2.0, up, down, mode, gamma, t) for t in range(300)]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert got.min() >= 0.5 - 1e-6 and got.max() <= 2.0 + 1e-6


@pytest.mark.parametrize(
    "args",
    [(0.0, 1e-3, 10, 100, 0.0), (1e-4, 1e-2, 0, 50, 0.0), (0.0, 0.5, 7, 8, 0.05), (0.2, 0.1, 30, 90, 0.3)],
)
def test_warmup_linear_decay_schedule(args):
    init_value, peak_value, warmup, total, end_value = args
    schedule = gdx.warmup_linear_decay_schedule(*args)
    assert_matches(schedule, [hf_linear_with_warmup(*args, t) for t in range(total + 20)])
    assert float(schedule(total + 1000)) == pytest.approx(end_value)


@pytest.mark.parametrize(
    "init_value, t_0, t_mult, eta_min", [(0.1, 10, 1, 0.0), (1.0, 3, 2, 0.01), (0.5, 1, 3, 0.1)]
)
def test_cosine_warm_restarts_schedule(init_value, t_0, t_mult, eta_min):
    schedule = gdx.cosine_warm_restarts_schedule(init_value, t_0, t_mult, eta_min)
    assert_matches(schedule, cosine_warm_restarts(init_value, t_0, t_mult, eta_min, 400))


def test_schedules_stay_finite_at_the_largest_count():
    last = jnp.int32(np.iinfo(np.int32).max)
    schedules = [
        gdx.step_decay_schedule(0.1, 3, 0.5),
        gdx.cyclic_schedule(0.1, 1.0, 7, mode="exp_range", gamma=0.99),
        gdx.warmup_linear_decay_schedule(0.0, 1.0, 10, 100),
        gdx.cosine_warm_restarts_schedule(1.0, 5, 2, 0.1),
        gdx.cosine_warm_restarts_schedule(1.0, 5, 1),
    ]
    for schedule in schedules:
        value = float(jax.jit(schedule)(last))
        assert math.isfinite(value) and value >= 0, schedule


def test_readable_repr():
    assert (
        repr(gdx.step_decay_schedule(0.1, 30, 0.1))
        == "StepDecaySchedule(init_value=0.1, step_size=30, decay_rate=0.1)"
    )
    assert repr(gdx.cyclic_schedule(0.1, 1.0, 4)) == (
        "CyclicSchedule(base_value=0.1, max_value=1.0, step_size_up=4, step_size_down=4, "
        "mode='triangular', gamma=1.0)"
    )
    assert "warmup_steps=5" in repr(gdx.warmup_linear_decay_schedule(0.0, 1.0, 5, 10))
    assert repr(gdx.cosine_warm_restarts_schedule(1.0, 10)).startswith(
        "CosineWarmRestartsSchedule(init_value=1.0"
    )


def test_schedules_drive_gdx_and_optax_optimizers():
    params = {"w": jnp.ones(3)}
    grads = {"w": jnp.ones(3)}
    schedule = gdx.cyclic_schedule(0.1, 1.0, 2)
    for library in (gdx, optax):
        tx = library.sgd(learning_rate=schedule)
        with jax.numpy_dtype_promotion("standard" if library is optax else "strict"):
            state = tx.init(params)
            step = jax.jit(tx.update)
            moves = []
            for _ in range(4):
                updates, state = step(grads, state)
                moves.append(float(-updates["w"][0]))
        np.testing.assert_allclose(moves, [0.1, 0.55, 1.0, 0.55], rtol=1e-6)
    injected = gdx.inject_hyperparams(gdx.adam)(learning_rate=gdx.step_decay_schedule(0.1, 1, 0.5))
    state = injected.init(params)
    for _ in range(2):
        _, state = injected.update(grads, state, params)
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.05)  # used by the second update


BAD_ARGUMENTS = [
    (lambda: gdx.step_decay_schedule(math.nan, 10, 0.1), "init_value"),
    (lambda: gdx.step_decay_schedule(0.1, 0, 0.1), "step_size"),
    (lambda: gdx.step_decay_schedule(0.1, 2.5, 0.1), "step_size"),
    (lambda: gdx.step_decay_schedule(0.1, 10, 0.0), "decay_rate"),
    (lambda: gdx.cyclic_schedule(0.1, math.inf, 10), "max_value"),
    (lambda: gdx.cyclic_schedule(0.1, 1.0, 0), "step_size_up"),
    (lambda: gdx.cyclic_schedule(0.1, 1.0, 10, step_size_down=-1), "step_size_down"),
    (lambda: gdx.cyclic_schedule(0.1, 1.0, 10, mode="cosine"), "mode"),
    (lambda: gdx.cyclic_schedule(0.1, 1.0, 10, mode="exp_range", gamma=1.5), "gamma"),
    (lambda: gdx.cyclic_schedule(0.1, 1.0, 10, gamma=0.0), "gamma"),
    (lambda: gdx.warmup_linear_decay_schedule(0.0, 1.0, -1, 10), "warmup_steps"),
    (lambda: gdx.warmup_linear_decay_schedule(0.0, 1.0, 10, 10), "decay_steps"),
    (lambda: gdx.warmup_linear_decay_schedule(0.0, math.nan, 1, 10), "peak_value"),
    (lambda: gdx.warmup_linear_decay_schedule(0.0, 1.0, 1, 10, end_value=math.inf), "end_value"),
    (lambda: gdx.cosine_warm_restarts_schedule(1.0, 0), "t_0"),
    (lambda: gdx.cosine_warm_restarts_schedule(1.0, 10, t_mult=0), "t_mult"),
    (lambda: gdx.cosine_warm_restarts_schedule(1.0, 10, t_mult=1.5), "t_mult"),
    (lambda: gdx.cosine_warm_restarts_schedule(1.0, 10, eta_min=math.nan), "eta_min"),
    (lambda: gdx.reduce_on_plateau(factor=1.0), "factor"),
    (lambda: gdx.reduce_on_plateau(factor=0.0), "factor"),
    (lambda: gdx.reduce_on_plateau(patience=0), "patience"),
    (lambda: gdx.reduce_on_plateau(rtol=-1e-3), "rtol"),
    (lambda: gdx.reduce_on_plateau(rtol=2.0), "rtol"),
    (lambda: gdx.reduce_on_plateau(atol=-1.0), "atol"),
    (lambda: gdx.reduce_on_plateau(rtol=0.0, atol=0.0), "rtol"),
    (lambda: gdx.reduce_on_plateau(cooldown=-1), "cooldown"),
    (lambda: gdx.reduce_on_plateau(accumulation_size=0), "accumulation_size"),
    (lambda: gdx.reduce_on_plateau(min_scale=-0.1), "min_scale"),
]


@pytest.mark.parametrize("build, argument", BAD_ARGUMENTS, ids=[a for _, a in BAD_ARGUMENTS])
def test_bad_arguments_are_rejected_by_name(build, argument):
    with pytest.raises(ValueError, match=rf": {argument} must be"):
        build()


def test_step_counts_must_be_concrete():
    with pytest.raises(TypeError, match="step_size must be a concrete integer"):
        jax.jit(lambda n: gdx.step_decay_schedule(0.1, n, 0.5)(0))(jnp.int32(3))


# --- reduce_on_plateau --------------------------------------------------------------------------


def test_reduce_on_plateau_reduces_after_patience_and_waits_out_the_cooldown():
    tx = gdx.reduce_on_plateau(factor=0.5, patience=2, cooldown=1)
    params = {"w": jnp.ones(2), "e": jnp.ones(2, jnp.bfloat16)}
    state = tx.init(params)
    assert state.scale.dtype == jnp.bfloat16 and state.best_value.dtype == jnp.float32
    step = jax.jit(tx.update)
    scales = []
    for value in [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]:
        updates, state = step(params, state, value=jnp.float32(value))
        scales.append(float(state.scale))
        assert updates["w"].dtype == jnp.float32 and updates["e"].dtype == jnp.bfloat16
        np.testing.assert_array_equal(updates["w"], scales[-1] * np.ones(2))
    assert scales == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert step._cache_size() == 1


def test_reduce_on_plateau_needs_the_value():
    tx = gdx.reduce_on_plateau()
    state = tx.init({"w": jnp.ones(2)})
    with pytest.raises(TypeError, match="value"):
        tx.update({"w": jnp.ones(2)}, state)


def test_reduce_on_plateau_is_at_top_level_and_in_schedules():
    assert gdx.reduce_on_plateau is gdx.schedules.reduce_on_plateau
    assert gdx.ReduceLROnPlateauState is gdx.schedules.ReduceLROnPlateauState


# --- plot ---------------------------------------------------------------------------------------


def test_plot_writes_a_png(tmp_path):
    path = gdx.schedules.plot(gdx.cosine_warm_restarts_schedule(1.0, 10, 2), 100, tmp_path / "restarts.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    optax_path = gdx.schedules.plot(optax.linear_schedule(1.0, 0.0, 50), 60, str(tmp_path / "optax.png"))
    assert optax_path.stat().st_size > 0


def test_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"gdx\[demo\]"):
        gdx.schedules.plot(gdx.step_decay_schedule(0.1, 3, 0.5), 10, tmp_path / "x.png")


def test_plot_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="steps must be"):
        gdx.schedules.plot(gdx.step_decay_schedule(0.1, 3, 0.5), 0, tmp_path / "x.png")
    with pytest.raises(TypeError, match="schedule must be a callable"):
        gdx.schedules.plot(0.1, 10, tmp_path / "x.png")
