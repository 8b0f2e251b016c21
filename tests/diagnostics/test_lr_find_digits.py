"""lr_find on the digits MLP of `python -m gdx compare`, and the `python -m gdx lr-find` command."""

import pytest

from gdx import cli

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def test_range_test_on_the_digits_mlp_recovers_a_good_adam_lr():
    from gdx.demo.lr_find import run_lr_find

    result = run_lr_find("adam", steps=100, min_lr=1e-5, max_lr=10.0)
    # The compare demo's tuned Adam LR is 3e-3; 1e-3..3e-2 all train this MLP well.
    assert 1e-3 <= result.suggestion <= 5e-2


def test_cli_lr_find_parallel_prints_a_table_and_writes_the_plot(tmp_path, capsys):
    status = cli.main(
        ["lr-find", "--mode", "parallel", "--steps", "30", "--num-lrs", "4", "--output-dir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "suggested learning rate:" in out and "final loss" in out
    assert (tmp_path / "lr_find.png").stat().st_size > 0


def test_cli_lr_find_rejects_an_empty_range():
    with pytest.raises(SystemExit):
        cli.main(["lr-find", "--min-lr", "1", "--max-lr", "0.1", "--no-plots"])
