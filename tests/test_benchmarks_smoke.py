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
        timeout=900,  # each implementation starts its own process: minutes on a loaded 2-core machine
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
    # The fair runner: every implementation in its own process, the ratio per block with its
    # min-max, and the A/A copy of optax.
    assert "optax (A/A)" in impls
    for row in data["rows"]:
        assert row["step_vs_optax_lo"] <= row["step_vs_optax"] <= row["step_vs_optax_hi"], row
        if row["impl"] == "optax":
            assert row["step_vs_optax"] == 1.0
    markdown = (tmp_path / "latest.md").read_text()
    assert "| group | tree | optimizer | impl | compile |" in markdown
    assert "jax " in markdown and "optax " in markdown
    assert result.with_suffix(".md").exists() and result.with_suffix(".png").exists()


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    return env


def test_flax_models_smoke_trains_and_matches_optax(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "benchmarks.flax_models", "--smoke", "--output-dir", str(tmp_path)],
        cwd=ROOT, env=_clean_env(), check=True, timeout=900,
    )  # fmt: skip
    (result,) = tmp_path.glob("*-smoke-flax.json")
    rows = json.loads(result.read_text())["rows"]
    floor = {row["model"]: row for row in rows if row["impl"] == "sgd floor"}
    optax = {row["model"]: row for row in rows if row["impl"] == "optax"}
    assert {row["model"] for row in rows} == {"lm", "deep", "resnet"}
    assert {row["impl"] for row in rows} == {"optax", "optax (A/A)", "gdx", "fuse", "flat", "sgd floor"}
    for row in rows:
        assert "error" not in row, row
        assert {"compile_s", "step_ms", "temp_mb", "total_mb", "step_vs_optax", "leaves"} <= set(row)
        assert row["loss_final"] != row["loss_first"], row  # it trained
        if row["impl"] == "sgd floor":  # another optimizer: the model's own cost, no loss check
            continue
        if row["impl"] != "optax":  # the optimizer's share: the row's time minus the floor's
            floor_s = floor[row["model"]]["compile_s"]
            own, optax_own = row["compile_s"] - floor_s, optax[row["model"]]["compile_s"] - floor_s
            assert row["optimizer_compile_s"] == own, row
            if own >= 0 and optax_own > 0:  # a negative part is noise and gets no ratio
                assert f"optimizer part ÷ optax: compile {own / optax_own:.2f}" in row["note"], row
        if row["impl"] in ("optax", "optax (A/A)", "gdx"):
            assert row["loss_max_abs_diff"] == 0.0, row  # gdx is optax bit for bit
        else:  # fuse and flat: float32 summation order (global norm, trust ratios, grads)
            assert row["loss_max_abs_diff"] <= 1e-5 * abs(row["loss_first"]), row
    assert "| group | tree | optimizer | impl | compile |" in result.with_suffix(".md").read_text()


def test_gpu_script_dry_run_writes_every_part(tmp_path):
    env = _clean_env() | {"GDX_GPU_DRY": "1", "GDX_GPU_OUT": str(tmp_path), "PYTHON": sys.executable}
    subprocess.run(["bash", "benchmarks/gpu.sh"], cwd=ROOT, env=env, check=True, timeout=1200)
    names = {p.name for p in tmp_path.iterdir()}
    for part in ("smoke-train_step", "smoke-flax", "adam-dry", "parity"):
        assert any(name.endswith(f"{part}.json") for name in names), (part, names)
    parity = json.loads(next(tmp_path.glob("*-parity.json")).read_text())["rows"]
    assert {(r["optimizer"], r["impl"]) for r in parity} >= {
        ("adam", "fuse"),
        ("lamb", "fuse"),
        ("adam", "flat"),
    }
    for row in parity:
        assert row["max_abs_diff"] <= 1e-5, row
    adam = json.loads(next(tmp_path.glob("*-adam-dry.json")).read_text())
    assert adam["floors"] and all("step_vs_floor" in row for row in adam["rows"])
