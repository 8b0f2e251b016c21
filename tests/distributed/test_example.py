"""Smoke test of examples/data_parallel.py (small settings): the four runs agree with one device."""

import importlib.util
from pathlib import Path

import jax
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data_parallel.py"


def test_data_parallel_example_runs_agree_and_zero1_splits_the_state(capsys):
    spec = importlib.util.spec_from_file_location("gdx_example_data_parallel", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The example is user code: it adds biases by numpy broadcasting, which the suite's
    # rank promotion 'raise' (tests/conftest.py, aimed at gdx's own code) would reject.
    with jax.numpy_rank_promotion("allow"):
        result = module.main(["--steps", "3", "--hidden", "16", "--batch", "32"])

    assert set(result["losses"]) == {"pmap", "jit_sharded", "shard_map", "zero1"}
    for name, loss in result["losses"].items():
        assert loss == pytest.approx(result["single_device_loss"], rel=1e-5), name
        assert result["max_param_difference"][name] < 1e-5, name
    full = result["single_device_state_bytes"]
    assert result["state_bytes_per_device"]["pmap"] == full  # every device holds a full copy
    assert result["state_bytes_per_device"]["shard_map"] == full
    # AdamW's mu and nu (all leaves divisible by 8) split 8 ways; only the int32 count stays whole.
    assert result["state_bytes_per_device"]["zero1"] == (full - 4) // 8 + 4
    assert result["state_bytes_per_device"]["jit_sharded"] < full / 4
    assert "zero1" in capsys.readouterr().out
