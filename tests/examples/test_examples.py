"""Smoke tests of the scripts in examples/: each runs (small settings where the lesson allows), prints,
writes its PNG, and shows the behaviour its docstring promises.

The scripts are loaded from their files (examples/ is not a package) and run
through their `main(argv)`, under the suite's strict dtype promotion.
"""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
SMOKE_TESTED = {
    "linear_regression",
    "learning_rate_effect",
    "sgd_vs_adam",
    "batch_sizes",
    "schedules",
    "flax_digits",
    "momentum_valley",
    "training_doctor",
    # Its smoke test lives with the other distributed tests: tests/distributed/test_example.py.
    "data_parallel",
}

pytestmark = pytest.mark.slow


def run_example(name, tmp_path, *argv):
    spec = importlib.util.spec_from_file_location(f"gdx_example_{name}", EXAMPLES_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main([*argv, "--output-dir", str(tmp_path)])
    plot = Path(result["plot"])
    assert plot.parent == tmp_path and plot.suffix == ".png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000, plot
    return result


def test_every_example_has_a_smoke_test():
    scripts = {path.stem for path in EXAMPLES_DIR.glob("*.py") if not path.stem.startswith("_")}
    assert scripts == SMOKE_TESTED


def test_linear_regression_finds_slope_2_and_intercept_1(tmp_path, capsys):
    result = run_example("linear_regression", tmp_path)
    assert result["w"] == pytest.approx(2.0, abs=0.05) and result["b"] == pytest.approx(1.0, abs=0.05)
    # 200 steps of lr 0.05 reach the least-squares line, not only its neighbourhood.
    assert result["w"] == pytest.approx(result["least_squares"][0], abs=1e-4)
    assert result["b"] == pytest.approx(result["least_squares"][1], abs=1e-4)
    assert np.all(np.diff(result["losses"]) <= 1e-7), "gradient descent on a convex quadratic never goes up"
    assert "w = 2.00" in capsys.readouterr().out


def test_learning_rate_effect_shows_diverging_good_and_too_low(tmp_path):
    histories = run_example("learning_rate_effect", tmp_path)["histories"]
    start = math.log(2.0)
    too_high, good, too_low = histories[5.0], histories[0.5], histories[0.001]
    assert too_high.max() > 5 * start, "lr 5 should blow the loss up"
    assert too_high[-100:].min() > 2 * start, "lr 5 should keep oscillating far above its start"
    assert np.std(np.diff(too_high[-100:])) > 0.1, "lr 5 should still be oscillating at the end"
    assert good[-1] < 0.75 * start and np.all(np.diff(good) <= 1e-6), "lr 0.5 should descend smoothly"
    assert 0.9 * start < too_low[-1] < start, "lr 0.001 should barely move"


def test_adam_beats_sgd_on_ill_conditioned_features(tmp_path):
    result = run_example("sgd_vs_adam", tmp_path)
    assert result["adam_best_loss"] < 0.05 * result["sgd_best_loss"]
    assert result["adam_best_loss"] < 0.02  # the noise floor is 0.01
    sgd, adam = result["results"]["sgd"], result["results"]["adam"]
    assert not np.isfinite(sgd["losses"][-1, -1]), "SGD at lr 1e-3 should blow up on the scale-100 feature"
    sgd_weights, adam_weights = sgd["weights"][sgd["best"]], adam["weights"][adam["best"]]
    assert abs(sgd_weights[2]) < 0.01, "SGD barely touches the weight of the scale-0.01 feature"
    np.testing.assert_allclose(adam_weights, [1.0, 0.01, 100.0], rtol=0.05)


def test_batch_sizes_runs_each_batch_size(tmp_path):
    steps, examples = 60, 2048
    result = run_example(
        "batch_sizes",
        tmp_path,
        "--steps",
        str(steps),
        "--num-examples",
        str(examples),
        "--num-features",
        "16",
    )
    histories = result["histories"]
    assert list(histories) == [1, 32, 128, 512, examples]
    for batch_size, history in histories.items():
        assert history["steps"][-1] == steps and np.all(np.isfinite(history["loss"]))
        assert history["epochs"][-1] == pytest.approx(steps * batch_size / examples)
        assert np.all(np.diff(history["seconds"]) >= 0)
        assert history["loss"][-1] < 0.5 * history["loss"][0], batch_size
    full = histories[examples]["loss"]
    assert np.all(np.diff(full) <= 1e-6), "full-batch gradient descent descends steadily"
    assert histories[1]["loss"][-1] > 2 * full[-1], "one example per step gets less far in as many steps"


def test_schedules_take_their_documented_values(tmp_path):
    values = run_example("schedules", tmp_path, "--steps", "100")["values"]
    assert set(values) == {
        "step decay",
        "exponential decay",
        "cosine annealing",
        "cosine with warm restarts",
        "linear warmup + cosine",
        "one-cycle",
    }
    assert all(curve.shape == (100,) and np.all(np.isfinite(curve)) for curve in values.values())
    np.testing.assert_allclose(
        values["step decay"][[0, 29, 30, 60, 90]], [0.1, 0.1, 0.01, 1e-3, 1e-4], rtol=1e-5
    )
    np.testing.assert_allclose(values["exponential decay"][[0, 2, 4]], [0.1, 0.095, 0.09025], rtol=1e-5)
    np.testing.assert_allclose(values["cosine annealing"][[0, 50]], [0.1, 0.05], rtol=1e-5)
    restarts = values["cosine with warm restarts"]
    np.testing.assert_allclose(restarts[[0, 10, 30, 60]], 0.1, rtol=1e-5)  # a restart at each cycle start
    assert restarts[9] < 0.01 and restarts[29] < 0.01
    warmup = values["linear warmup + cosine"]
    np.testing.assert_allclose(warmup[[0, 5, 10]], [0.0, 0.05, 0.1], rtol=1e-5, atol=1e-9)
    one_cycle = values["one-cycle"]
    assert int(np.argmax(one_cycle)) == 30 and one_cycle[30] == pytest.approx(0.1, rel=1e-5)
    assert one_cycle[0] == pytest.approx(0.1 / 25, rel=1e-5) and one_cycle[-1] < 1e-3


def test_flax_digits_reaches_97_percent_with_gdx_and_optax_alike(tmp_path):
    result = run_example("flax_digits", tmp_path)  # the full 400 steps: the 97% needs them
    runs = result["runs"]
    assert runs["gdx"]["test_accuracy"] >= 0.97
    assert runs["gdx"]["test_accuracy"] == runs["optax"]["test_accuracy"]
    np.testing.assert_allclose(runs["gdx"]["losses"], runs["optax"]["losses"], rtol=1e-5, atol=1e-7)
    assert result["max_param_difference"] < 1e-5
    assert result["decayed"] == ["['hidden'][0]['kernel']", "['hidden'][1]['kernel']", "['output']['kernel']"]


def test_momentum_and_nesterov_cross_the_valley_sgd_does_not(tmp_path):
    runs = run_example("momentum_valley", tmp_path)["runs"]
    sgd_points, sgd_losses = runs["sgd"]
    assert sgd_losses[-1] > 1e-2 and sgd_points.shape == (2001, 2)
    for name in ("momentum 0.9", "nesterov 0.9"):
        points, losses = runs[name]
        assert losses[-1] < 1e-6, name
        np.testing.assert_allclose(points[-1], [1.0, 1.0], atol=1e-3)


def test_training_doctor_names_each_learning_rate_problem(tmp_path, capsys):
    result = run_example("training_doctor", tmp_path, "--epochs", "200")
    problems = {lr: diagnosis.problem for lr, diagnosis in result["diagnoses"].items()}
    assert problems == {5.0: "diverging", 2.0: "oscillating", 0.5: "healthy", 0.001: "too_low"}
    assert 0.3 <= result["lr_find"].suggestion <= 1.5
    assert "suggested learning rate" in capsys.readouterr().out
