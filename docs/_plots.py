"""The figures the guides show that are computed, not measured: `conf.py` writes them at build time.

`write(directory)` writes into `docs/_generated/` (gitignored):

- `schedules.png`: every schedule of `gdx.schedules`, one panel each, over 1000 steps;
- `diagnostics.png`: what `gdx.diagnostics.monitor` logs on examples/training_doctor.py's
  logistic regression at its four learning rates, with `doctor`'s verdict of each run;
- `lr_find.png`: `gdx.diagnostics.lr_find` in parallel mode on the same problem;
- `gradcheck.png`: `check_grads`' error per leaf for a correct and a wrong gradient.

Everything is small (regressions on a few hundred examples), so the figures take a few seconds on a CPU.
"""

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import gdx
from gdx import diagnostics
from gdx.schedules.plotting import schedule_values

STEPS = 1000
PEAK = 0.1


def schedules() -> dict[str, Any]:
    """`{call as text: schedule}` for every schedule gdx has, over `STEPS` steps."""
    warmup = 100
    return {
        "constant_schedule(0.1)": gdx.constant_schedule(PEAK),
        "linear_schedule(0.1, 0.01, 1000)": gdx.linear_schedule(PEAK, 0.01, STEPS),
        "polynomial_schedule(0.1, 0.0, 2, 1000)": gdx.polynomial_schedule(PEAK, 0.0, 2, STEPS),
        "exponential_decay(0.1, 100, 0.7)": gdx.exponential_decay(PEAK, 100, 0.7),
        "exponential_decay(..., staircase=True)": gdx.exponential_decay(PEAK, 100, 0.7, staircase=True),
        "piecewise_constant_schedule(0.1, {300: 0.5, 600: 0.2})": gdx.piecewise_constant_schedule(
            PEAK, {300: 0.5, 600: 0.2}
        ),
        "piecewise_interpolate_schedule('cosine', ...)": gdx.piecewise_interpolate_schedule(
            "cosine", PEAK, {300: 0.5, 600: 0.2}
        ),
        "cosine_decay_schedule(0.1, 1000, alpha=0.1)": gdx.cosine_decay_schedule(PEAK, STEPS, alpha=0.1),
        "warmup_cosine_decay_schedule(0, 0.1, 100, 1000)": gdx.warmup_cosine_decay_schedule(
            0.0, PEAK, warmup, STEPS
        ),
        "warmup_constant_schedule(0, 0.1, 100)": gdx.warmup_constant_schedule(0.0, PEAK, warmup),
        "warmup_exponential_decay_schedule(0, 0.1, 100, 100, 0.7)": gdx.warmup_exponential_decay_schedule(
            0.0, PEAK, warmup, 100, 0.7
        ),
        "warmup_linear_decay_schedule(0, 0.1, 100, 1000)": gdx.warmup_linear_decay_schedule(
            0.0, PEAK, warmup, STEPS
        ),
        "sgdr_schedule(3 x warmup + cosine, 333 steps)": gdx.sgdr_schedule(
            [dict(init_value=0.0, peak_value=PEAK, warmup_steps=30, decay_steps=333)] * 3
        ),
        "cosine_warm_restarts_schedule(0.1, t_0=100, t_mult=2)": gdx.cosine_warm_restarts_schedule(
            PEAK, t_0=100, t_mult=2
        ),
        "cosine_onecycle_schedule(1000, 0.1)": gdx.cosine_onecycle_schedule(STEPS, PEAK),
        "linear_onecycle_schedule(1000, 0.1)": gdx.linear_onecycle_schedule(STEPS, PEAK),
        "step_decay_schedule(0.1, 250, 0.5)": gdx.step_decay_schedule(PEAK, 250, 0.5),
        "cyclic_schedule(0.01, 0.1, 125)": gdx.cyclic_schedule(0.01, PEAK, 125),
        "join_schedules([linear, cosine], [200])": gdx.join_schedules(
            [gdx.linear_schedule(0.0, PEAK, 200), gdx.cosine_decay_schedule(PEAK, STEPS - 200)], [200]
        ),
    }


def _figure(rows: int, columns: int, size: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure  # the docs extra has matplotlib (via the demo extra)

    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.subplots(rows, columns, squeeze=False)


def plot_schedules(path: Path) -> None:
    named = schedules()
    columns = 4
    rows = -(-len(named) // columns)
    figure, axes = _figure(rows, columns, (13, 2.1 * rows))
    steps = np.arange(STEPS)
    for panel, (name, schedule) in zip(axes.flat, named.items()):
        panel.plot(steps, schedule_values(schedule, STEPS))
        panel.set_title(name, fontsize=7.5)
        panel.set_ylim(-0.005, PEAK * 1.08)
        panel.grid(alpha=0.3)
        panel.tick_params(labelsize=7)
    for panel in list(axes.flat)[len(named) :]:
        panel.set_axis_off()
    figure.savefig(path, dpi=90)


def _regression() -> tuple[Any, Any, Any]:
    x = jax.random.normal(jax.random.key(0), (256, 3))
    y = x @ jnp.array([1.0, -2.0, 0.5]) + 0.1 * jax.random.normal(jax.random.key(1), (256,))
    return {"w": jnp.zeros(3), "b": jnp.zeros(())}, x, y


def loss_fn(params: Any, x: Any, y: Any) -> Any:
    return jnp.mean(jnp.square(x @ params["w"] + params["b"] - y))


def _doctor_example() -> Any:
    """examples/training_doctor.py (its data, loss and learning rates), loaded from its file."""
    import importlib.util

    path = Path(gdx.__file__).resolve().parents[1] / "examples" / "training_doctor.py"
    spec = importlib.util.spec_from_file_location("gdx_example_training_doctor", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plot_diagnostics(path: Path, example: Any) -> None:
    features, labels = (jnp.asarray(a) for a in example.make_data())
    figure, axes = _figure(1, 3, (13, 3.4))
    for learning_rate in example.LEARNING_RATES:
        tx = diagnostics.monitor(gdx.sgd(learning_rate))

        @jax.jit
        def step(params: Any, state: Any, tx: Any = tx) -> Any:
            loss, grads = jax.value_and_grad(example.binary_cross_entropy)(params, features, labels)
            updates, state = tx.update(grads, state, params)
            return gdx.apply_updates(params, updates), state, loss

        params = example.initial_params()
        state = tx.init(params)
        losses, grad_norms, ratios = [], [], []
        for _ in range(200):
            params, state, loss = step(params, state)
            logged = diagnostics.metrics(state)
            losses.append(float(loss))
            grad_norms.append(logged["grad_norm"])
            ratios.append(logged["update_param_ratio"])
        label = f"lr {learning_rate:g}: doctor says {diagnostics.doctor(losses, grad_norms).problem}"
        for panel, values in zip(axes.flat, (losses, grad_norms, ratios)):
            panel.plot(values, label=label)
    for panel, title in zip(axes.flat, ("loss", "grad_norm", "update_param_ratio")):
        panel.set_yscale("log")
        panel.set_xlabel("step")
        panel.set_title(title if title == "loss" else f"diagnostics.metrics(state)['{title}']", fontsize=9)
        panel.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    figure.savefig(path, dpi=90)


def plot_lr_find(path: Path, example: Any) -> None:
    features, labels = (jnp.asarray(a) for a in example.make_data())
    result = diagnostics.lr_find(
        example.binary_cross_entropy,
        example.initial_params(),
        (features, labels),
        tx_factory=gdx.sgd,
        min_lr=1e-3,
        max_lr=10.0,
        num_steps=100,
        mode="parallel",
        num_lrs=12,
    )
    result.plot(path)


def plot_gradcheck(path: Path) -> None:
    params, x, y = _regression()

    def wrong_loss(params: Any, x: Any, y: Any) -> Any:
        # A custom VJP that forgets the factor 2 of the square for `b`: check_grads catches it.
        return loss_fn({"w": params["w"], "b": _half_grad(params["b"])}, x, y)

    @jax.custom_vjp
    def _half_grad(b: Any) -> Any:
        return b

    _half_grad.defvjp(lambda b: (b, None), lambda _, g: (0.5 * g,))
    params = {"w": jnp.array([0.3, 0.1, -0.2]), "b": jnp.array(0.4)}
    figure, axes = _figure(1, 1, (7, 3))
    panel = axes[0, 0]
    for offset, (name, fn) in enumerate((("correct loss", loss_fn), ("wrong custom VJP for b", wrong_loss))):
        report = diagnostics.check_grads(fn, params, x, y)
        errors = [check.relative_error for check in report.leaves]
        labels = [check.path for check in report.leaves]
        positions = np.arange(len(labels)) + 0.35 * offset
        panel.bar(
            positions, np.maximum(errors, 1e-12), width=0.35, label=f"{name}: {'OK' if report.ok else 'FAIL'}"
        )
    panel.set_xticks(np.arange(len(labels)) + 0.175, labels)
    panel.axhline(report.rtol, color="black", linestyle=":", label=f"rtol {report.rtol:g}")
    panel.set_yscale("log")
    panel.set_ylabel("max relative error")
    panel.set_title("diagnostics.check_grads: jax.grad vs central differences, per leaf", fontsize=9)
    panel.legend(fontsize=7)
    figure.savefig(path, dpi=90)


def write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with jax.numpy_dtype_promotion("standard"):
        plot_schedules(directory / "schedules.png")
        example = _doctor_example()
        plot_diagnostics(directory / "diagnostics.png", example)
        plot_lr_find(directory / "lr_find.png", example)
        plot_gradcheck(directory / "gradcheck.png")
