"""Smoke tests of `python -m gdx demo` (small settings) and of the CLI's argument handling."""

import math
import subprocess
import sys

import pytest

import gdx
from gdx import cli

SMOKE_OPTIMIZERS = ("sgd", "adamw")  # momentum; Adam family with weight decay (needs params)
SMOKE_STEPS = 25


@pytest.fixture(scope="module")
def demo_rows():
    return cli.run_demo(SMOKE_STEPS, seed=0, optimizers=SMOKE_OPTIMIZERS)


def test_every_demo_optimizer_exists_in_gdx():
    missing = [name for name in cli.DEMO_OPTIMIZERS if not hasattr(gdx, name)]
    assert not missing, f"`python -m gdx demo` would skip {missing}: not exported at gdx's top level"


def test_demo_runs_every_requested_optimizer(demo_rows):
    assert [row["optimizer"] for row in demo_rows] == list(SMOKE_OPTIMIZERS)


def test_demo_losses_are_finite_and_gdx_matches_optax(demo_rows):
    for row in demo_rows:
        name = row["optimizer"]
        assert math.isfinite(row["gdx_loss"]) and math.isfinite(row["optax_loss"]), row
        assert row["gdx_loss"] == pytest.approx(row["optax_loss"], rel=1e-5, abs=1e-6), name
        assert row["max_param_difference"] <= 1e-5, row
        assert row["gdx_test_accuracy"] == pytest.approx(row["optax_test_accuracy"], abs=0.01), row


def test_demo_training_learns(demo_rows):
    for row in demo_rows:
        # An untrained 10-class model has loss ~log(10) = 2.3 and accuracy ~10%.
        assert row["gdx_loss"] < 2.0, row
        assert row["gdx_test_accuracy"] > 0.3, row


def test_format_table_has_a_header_and_one_line_per_row(demo_rows):
    lines = cli.format_table(demo_rows).splitlines()
    assert "gdx final loss" in lines[0] and "optax test acc" in lines[0]
    assert len(lines) == 2 + len(demo_rows)


def test_run_demo_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        cli.run_demo(0)
    with pytest.raises(ValueError, match="unknown optimizers"):
        cli.run_demo(1, optimizers=["not_an_optimizer"])


def test_missing_extra_names_the_install_command():
    with pytest.raises(ImportError, match=r'pip install "gdx\[demo\]"'):
        cli._require("gdx_no_such_module_for_tests", "demo")


@pytest.mark.parametrize(
    "argv", [[], ["no-such-command"], ["demo", "--steps", "0"], ["demo", "--optimizers", "nope"]]
)
def test_bad_command_lines_are_argparse_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_python_dash_m_gdx_help():
    result = subprocess.run(
        [sys.executable, "-m", "gdx", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout
