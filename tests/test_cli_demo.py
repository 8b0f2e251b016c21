"""`python -m gdx demo` and `python -m gdx compare` at small settings, and the CLI's argument handling."""

import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest

import gdx
from gdx import cli
from gdx.demo import compare, console, data, digits, plots

SMOKE_STEPS = 30
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`python -m gdx demo` end to end at 30 steps, with the progress bar; keeps its result and output."""
    output_dir = tmp_path_factory.mktemp("demo_output")
    results = []
    with pytest.MonkeyPatch.context() as patch:
        run_digits = digits.run_digits
        patch.setattr(
            digits,
            "run_digits",
            lambda *args, **kwargs: results.append(run_digits(*args, **kwargs)) or results[-1],
        )
        status = cli.main(["demo", "--steps", str(SMOKE_STEPS), "--output-dir", str(output_dir)])
    return status, results[0], output_dir


def test_demo_command_succeeds_and_writes_both_plots(demo_run):
    status, _, output_dir = demo_run
    assert status == 0
    for name in ("loss_curves.png", "learning_rate.png"):
        content = (output_dir / name).read_bytes()
        assert content.startswith(PNG_SIGNATURE) and len(content) > 20_000, name


def test_demo_gdx_and_optax_runs_agree_step_by_step(demo_run):
    _, result, _ = demo_run
    assert result.gdx.losses.shape == result.optax.losses.shape == (SMOKE_STEPS,)
    np.testing.assert_allclose(result.gdx.losses, result.optax.losses, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(result.gdx.gradient_norms, result.optax.gradient_norms, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(result.gdx.learning_rates, result.optax.learning_rates, rtol=1e-6, atol=1e-9)
    assert result.max_param_difference <= 1e-6
    assert result.num_params == 64 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10
    np.testing.assert_array_equal(result.gdx.test_predictions, result.optax.test_predictions)


def test_demo_training_learns_with_warmup_and_clipping(demo_run):
    _, result, _ = demo_run
    run, config = result.gdx, result.config
    # An untrained 10-class model has loss ~log(10) = 2.3 and accuracy ~10%.
    assert run.losses[0] > 2.0 and run.train_loss < 0.5 and run.test_accuracy > 0.85
    assert run.learning_rates[0] == 0.0
    assert run.learning_rates[config.warmup_steps] == pytest.approx(config.peak_learning_rate)
    assert run.gradient_norms.max() > config.max_gradient_norm, "the first steps are clipped"
    assert math.isfinite(run.seconds_per_step) and run.seconds_per_step > 0 and run.compile_seconds > 0


def test_comparison_table_lists_every_metric(demo_run, capsys):
    _, result, _ = demo_run
    console.print_table("title", console.COMPARISON_HEADERS, console.comparison_rows(result))
    table = capsys.readouterr().out
    for text in ("final train loss", "test accuracy", "time per step", "max |diff|", "same predictions"):
        assert text in table


def test_default_demo_settings_are_the_documented_ones():
    config = digits.DigitsConfig()
    assert (config.steps, config.batch_size, config.hidden_sizes) == (800, 128, (128, 128))
    assert (config.peak_learning_rate, config.weight_decay, config.max_gradient_norm) == (1e-2, 0.1, 1.0)
    assert config.warmup_steps == 80
    assert "clip_by_global_norm(1)" in config.describe() and "adamw" in config.describe()
    with pytest.raises(ValueError, match="steps"):
        digits.DigitsConfig(steps=1)
    with pytest.raises(ValueError, match="hidden_sizes"):
        digits.DigitsConfig(hidden_sizes=())


def test_loss_plot_shows_differences_when_the_runs_differ(demo_run, tmp_path):
    _, result, _ = demo_run
    nudged = dataclasses.replace(result.optax, losses=result.optax.losses * np.float32(1 + 1e-6))
    path = plots.plot_loss_curves(dataclasses.replace(result, optax=nudged), tmp_path / "differs.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_plain_progress_prints_a_line_per_tenth(capsys):
    with console._plain_progress("gdx", 100) as report:
        for step in range(20, 101, 20):
            report(step, 0.5, 1e-3, 0.25)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[-1].split() == [
        "gdx",
        "step",
        "100/100",
        "loss",
        "0.5000",
        "lr",
        "1.00e-03",
        "grad",
        "norm",
        "0.250",
    ]


def test_format_table_aligns_columns():
    lines = console.format_table(("", "a", "b"), [("row one", "1", "22"), ("two", "333", "4")]).splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1
    assert lines[2].startswith("row one |")


def test_batch_indices_visit_every_example_once_per_epoch():
    batches = data.batch_indices(100, 32, 7, seed=0)
    assert batches.shape == (7, 32) and batches.dtype == np.int32
    for epoch in (batches[0:3], batches[3:6]):  # 3 full batches per epoch, the remainder dropped
        assert len(np.unique(epoch)) == 96
    assert data.batch_indices(100, 0, 3, seed=0).shape == (3, 100)


# --- python -m gdx compare ------------------------------------------------------------------

COMPARE_SMOKE = ("sgd", "adamw")  # momentum; Adam family with weight decay (needs params)


@pytest.fixture(scope="module")
def compare_run():
    """`python -m gdx compare` end to end at 25 steps; keeps its exit status and rows."""
    rows = []
    with pytest.MonkeyPatch.context() as patch:
        run_comparison = compare.run_comparison
        patch.setattr(
            compare,
            "run_comparison",
            lambda *args, **kwargs: rows.extend(run_comparison(*args, **kwargs)) or rows,
        )
        status = cli.main(["compare", "--steps", "25", "--optimizers", ",".join(COMPARE_SMOKE)])
    return status, rows


@pytest.fixture(scope="module")
def compare_rows(compare_run):
    return compare_run[1]


def test_every_compare_optimizer_exists_in_gdx_and_in_the_cli_choices():
    missing = [name for name in compare.COMPARE_OPTIMIZERS if not hasattr(gdx, name)]
    assert not missing, f"`python -m gdx compare` would skip {missing}: not exported at gdx's top level"
    assert tuple(compare.COMPARE_OPTIMIZERS) == cli.COMPARE_CHOICES
    assert compare.DEFAULT_COMPARE_OPTIMIZERS == cli.DEFAULT_COMPARE


def test_compare_gdx_matches_optax_and_learns(compare_rows):
    assert [row["optimizer"] for row in compare_rows] == list(COMPARE_SMOKE)
    for row in compare_rows:
        assert math.isfinite(row["gdx_loss"]) and math.isfinite(row["optax_loss"]), row
        assert row["gdx_loss"] == pytest.approx(row["optax_loss"], rel=1e-5, abs=1e-6), row
        assert row["max_param_difference"] <= 1e-5, row
        assert row["gdx_test_accuracy"] == pytest.approx(row["optax_test_accuracy"], abs=0.01), row
        assert row["gdx_loss"] < 2.0 and row["gdx_test_accuracy"] > 0.3, row


def test_compare_table_has_a_header_and_one_row_per_optimizer(compare_rows):
    headers, rows = compare.table_cells(compare_rows)
    lines = console.format_table(headers, rows).splitlines()
    assert "gdx final loss" in lines[0] and "optax test acc" in lines[0]
    assert len(lines) == 2 + len(compare_rows)


def test_compare_command_succeeds(compare_run):
    assert compare_run[0] == 0


def test_run_comparison_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        compare.run_comparison(0)
    with pytest.raises(ValueError, match="unknown optimizers"):
        compare.run_comparison(1, optimizers=["not_an_optimizer"])


# --- argument handling ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["no-such-command"],
        ["demo", "--steps", "1"],
        ["demo", "--batch-size", "-1"],
        ["demo", "--hidden-sizes", "128,x"],
        ["demo", "--learning-rate", "0"],
        ["demo", "--weight-decay", "-0.1"],
        ["demo", "--no-such-option"],
        ["compare", "--steps", "0"],
        ["compare", "--optimizers", "nope"],
    ],
)
def test_bad_command_lines_are_argparse_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_output_dir_that_is_a_file_is_rejected_before_training(tmp_path, capsys):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--output-dir", str(not_a_folder)])
    assert exit_info.value.code == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["demo", "compare"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m gdx {command}") and "--steps" in out and "--seed" in out


def test_missing_dependency_is_a_one_line_install_hint(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "flax", None)  # `import flax` now fails
    monkeypatch.delitem(sys.modules, "gdx.demo.digits")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--steps", "2"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'flax'" in err and 'pip install "gdx[demo]"' in err


def test_a_missing_gdx_module_is_not_reported_as_a_missing_dependency():
    with pytest.raises(ModuleNotFoundError) as error_info:
        cli.import_demo_module("no_such_demo")
    assert not isinstance(error_info.value, cli.MissingDependencyError)


def test_python_dash_m_gdx_help():
    result = subprocess.run(
        [sys.executable, "-m", "gdx", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout and "compare" in result.stdout
