"""The benchmark runner in --smoke mode writes its JSON, markdown and plot (timings are not asserted)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_benchmark_smoke_run_writes_results(tmp_path):
    # A clean XLA_FLAGS: the benchmark runs on one device, not conftest's 8 fake ones.
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    subprocess.run(
        [sys.executable, "benchmarks/run.py", "--smoke", "--output-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    (result,) = tmp_path.glob("*-smoke.json")
    data = json.loads(result.read_text())
    assert {"jax", "jaxlib", "optax", "backend", "device_kind", "cpu_count"} <= set(data["machine"])
    assert data["machine"]["device_count"] == 1
    assert data["floors"] and all(f["copy_ms"] > 0 for f in data["floors"].values())
    groups = {row["group"] for row in data["rows"]}
    assert groups == {"update", "train_step"}
    impls = {row["impl"] for row in data["rows"]}
    assert {"optax", "gdx", "flat"} <= impls
    for row in data["rows"]:
        assert {"tree", "leaves", "params", "optimizer", "impl"} <= set(row)
        assert "error" not in row, row
        assert {"compile_s", "step_ms", "temp_mb", "total_mb"} <= set(row)
    assert any("step_vs_floor" in row for row in data["rows"])
    assert any("step_vs_optax" in row for row in data["rows"])
    markdown = (tmp_path / "latest.md").read_text()
    assert "| group | tree | optimizer | impl | compile |" in markdown
    assert "jax " in markdown and "optax " in markdown
    assert result.with_suffix(".md").exists() and result.with_suffix(".png").exists()
