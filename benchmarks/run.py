"""gdx vs optax benchmark: compile time, step time, memory, and the bandwidth floor, in one run.

    python -m benchmarks.run            # full (make bench)
    python -m benchmarks.run --quick    # a few minutes (make bench-quick)
    python -m benchmarks.run --smoke    # seconds; run by tests/test_benchmarks_smoke.py

For each case the implementations (optax, gdx, gdx.fuse, gdx.flat) are built
and compiled one by one (each compile in a worker thread with a deadline,
reported as `> N s` past it), then their donated steps are timed in
interleaved repetitions (optax, gdx, fuse, flat, optax, ...) so machine noise
hits all of them. A compile that misses its deadline keeps running in its
thread (XLA cannot be interrupted); rows measured meanwhile are flagged.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py`: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import cases, report  # noqa: E402

# Per mode: tree shapes and optimizers of the update cases, the Flax transformer
# (blocks, width), the whole-step model's layers and optimizers, repetitions, the
# compile deadline in seconds, and `max_tree_leaves`: above that many leaves the tree
# implementations (optax, plain gdx) of the chain and lamb are not run (their
# compiles take minutes: optax's chain at 5000 leaves 825-918 s, issue 4; an
# abandoned compile keeps a core busy while the next cases are measured).
# `--include-slow` runs them anyway.
MODES: dict[str, dict[str, Any]] = {
    "full": dict(
        shapes=cases.SHAPES_FULL, opts=cases.OPTIMIZERS, transformer=(12, 256),
        layers=1000, step_opts=("adam", "chain"), reps=21, limit=300.0, max_tree_leaves=2000,
    ),
    "quick": dict(
        shapes=cases.SHAPES_QUICK, opts=cases.OPTIMIZERS, transformer=(12, 128),
        layers=1000, step_opts=("adam",), reps=7, limit=90.0, max_tree_leaves=200,
    ),
    "smoke": dict(
        shapes=cases.SHAPES_SMOKE, opts=("adam",), transformer=(1, 16),
        layers=3, step_opts=("adam",), reps=2, limit=60.0,
    ),
}  # fmt: skip

GROUPS = ("update", "train_step")
FLOOR_PROBE = "floor probe"  # the bandwidth probe's key among the implementations of a case

_abandoned: list[threading.Thread] = []


def _compile(build: Callable[[], cases.Case], limit: float) -> tuple[Any, cases.Case | None, float | None]:
    """Builds and compiles a case in a daemon thread; `(compiled, case, seconds)`, Nones past `limit`."""
    box: dict[str, Any] = {}

    def work():
        try:
            case = build()  # params, state, ravel: not part of the compile time
            start = time.perf_counter()
            compiled = case.fn.lower(*case.carry, *case.const).compile()
            box.update(case=case, compiled=compiled, seconds=time.perf_counter() - start)
        except Exception as error:  # reported in the row, the run goes on
            box["error"] = f"{type(error).__name__}: {error}"

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        _abandoned.append(thread)
        return None, None, None
    if "error" in box:
        raise RuntimeError(box["error"])
    return box["compiled"], box["case"], box["seconds"]


def _memory(compiled: Any) -> dict[str, float]:
    analysis = compiled.memory_analysis()
    if analysis is None:
        return {}
    mb = lambda name: getattr(analysis, name, 0) / 1e6
    total = (mb("argument_size_in_bytes") + mb("output_size_in_bytes") + mb("temp_size_in_bytes")) - mb(
        "alias_size_in_bytes"
    )
    return {"temp_mb": round(mb("temp_size_in_bytes"), 3), "total_mb": round(total, 3)}


# Every timed call starts with cold caches, as an optimizer step does in training (the
# forward and backward pass run in between): `_evict_caches` streams a buffer larger
# than any last-level cache here (32 MB L3 on the 2-core CI machine) through them.
_EVICT_ELEMENTS = {"full": 1 << 26, "quick": 1 << 26, "smoke": 1 << 16}  # 256 MB of float32
_evict_step = jax.jit(lambda x: x + 1.0, donate_argnums=0)
_evict_buffers: dict[int, Any] = {}  # by size: allocated once, donated to itself on every call


def _evict_caches(elements: int) -> None:
    if elements not in _evict_buffers:
        _evict_buffers[elements] = jax.numpy.zeros((elements,), "float32")
    _evict_buffers[elements] = _evict_step(_evict_buffers[elements])
    _evict_buffers[elements].block_until_ready()


def measure(
    builds: dict[str, Callable[[], cases.Case]], reps: int, limit: float, evict_elements: int
) -> dict[str, dict]:
    """Compiles every implementation, then times their steps in interleaved repetitions.

    Before each timed call `evict_elements` float32 are streamed through the caches.
    """
    rows: dict[str, dict] = {}
    ready: dict[str, tuple[Any, cases.Case]] = {}
    for impl, build in builds.items():
        busy = any(t.is_alive() for t in _abandoned)
        try:
            compiled, case, seconds = _compile(build, limit)
        except RuntimeError as error:
            rows[impl] = {"impl": impl, "error": str(error)}
            continue
        rows[impl] = {
            "impl": impl,
            "compile_s": seconds,
            "compile_limit_s": limit,
            "background_compile": busy,
        }
        if compiled is None or case is None:
            continue
        rows[impl].update(_memory(compiled))
        ready[impl] = (compiled, case)
    carries = {impl: case.carry for impl, (_, case) in ready.items()}
    times: dict[str, list[float]] = {impl: [] for impl in ready}
    for rep in range(reps + 1):  # rep 0 warms up (first-call allocation, page faults)
        for impl, (compiled, case) in ready.items():
            _evict_caches(evict_elements)
            start = time.perf_counter()
            out = compiled(*carries[impl], *case.const)
            jax.block_until_ready(out)
            elapsed = time.perf_counter() - start
            out = out if isinstance(out, tuple) else (out,)
            carries[impl] = tuple(out[: case.n_carry])
            if rep:
                times[impl].append(elapsed)
    for impl, samples in times.items():
        rows[impl]["step_ms"] = float(np.median(samples)) * 1e3
        rows[impl]["busy"] = rows[impl]["background_compile"] or any(t.is_alive() for t in _abandoned)
    return rows


def run(
    mode: str, include_slow: bool, time_limit: float | None, out_dir: str, groups: tuple[str, ...] = GROUPS
) -> dict:
    """Runs every case of `mode`; returns (and writes) the results."""
    config = MODES[mode]
    limit: float = time_limit or config["limit"]
    reps = config["reps"]
    label = mode if set(groups) == set(GROUPS) else f"{mode}-{'-'.join(groups)}"
    results: dict[str, Any] = {"mode": label, "machine": report.machine_info(), "rows": [], "floors": {}}

    def add(rows: dict[str, dict], **fields):
        optax_row = rows.get("optax", {})
        for row in rows.values():
            row.update(fields)
            for key in ("step_ms", "compile_s"):
                if row.get(key) is not None and optax_row.get(key):
                    row[key.split("_")[0] + "_vs_optax"] = row[key] / optax_row[key]
            if (
                row.get("compile_s") is not None
                and optax_row.get("compile_limit_s")
                and (optax_row.get("compile_s") is None and "error" not in optax_row)
            ):  # optax missed its deadline: the ratio is at most compile / deadline
                row["compile_vs_optax_below"] = row["compile_s"] / optax_row["compile_limit_s"]
            results["rows"].append(row)
            report.print_row(row)

    trees: list[tuple[str, Callable[[], Any], int, int]] = [
        (f"{n} x {report.human(size)}", lambda n=n, size=size: cases.make_tree(n, size), n, n * size)
        for n, size in config["shapes"]
    ]
    blocks, width = config["transformer"]
    shapes = cases.transformer_shapes(blocks, width)
    leaves = jax.tree.leaves(shapes)
    trees.append(
        (f"transformer {blocks}x{width}", lambda: cases.tree_from_shapes(shapes), len(leaves),
         sum(int(np.prod(s.shape)) for s in leaves))
    )  # fmt: skip

    for name, make, n_leaves, n_params in trees if "update" in groups else []:
        # The probe moves as many bytes as the heaviest optimizer step (lamb, 36 B/param), so
        # it is no more cache-resident than the steps it is compared with (a probe of one
        # float32 per param fits in a large L3 at 2000 x 1k and overstates the bandwidth 5x).
        elements = n_params * max(cases.FLOOR_BYTES_PER_PARAM.values()) // 8
        params = make()
        for opt in config["opts"]:
            builds = {}
            for impl in cases.implementations(opt):
                skip = cases.RECORDED_SLOW.get((impl, opt, n_leaves, n_params // max(n_leaves, 1)))
                if (
                    not skip
                    and opt in ("chain", "lamb")
                    and impl in ("optax", "gdx")
                    and n_leaves > config.get("max_tree_leaves", n_leaves)
                ):
                    skip = f"not run in {mode} mode (tree compiles take minutes); run with --include-slow"
                if skip and not include_slow:
                    results["rows"].append(dict(impl=impl, group="update", tree=name, leaves=n_leaves,
                                                params=n_params, optimizer=opt, skipped=skip))  # fmt: skip
                    continue
                builds[impl] = lambda impl=impl, opt=opt, p=params: cases.optimizer_case(impl, opt, p)
            # The floor probe is timed in the same interleaved repetitions as the steps, so a
            # change of the machine's bandwidth during the case moves both.
            builds[FLOOR_PROBE] = lambda elements=elements: cases.copy_case(elements)
            rows = measure(builds, reps, limit, _EVICT_ELEMENTS[mode])
            copy_ms = rows.pop(FLOOR_PROBE).get("step_ms")
            if copy_ms:
                bandwidth = 8 * elements / copy_ms / 1e6  # GB/s
                results["floors"][f"{name}, {opt}"] = {
                    "copy_elements": elements, "copy_ms": copy_ms, "bandwidth_gb_s": bandwidth
                }  # fmt: skip
                floor = cases.FLOOR_BYTES_PER_PARAM[opt] * n_params / bandwidth / 1e6  # ms
                for row in rows.values():
                    if row.get("step_ms"):
                        row["floor_ms"], row["step_vs_floor"] = floor, row["step_ms"] / floor
            add(rows, group="update", tree=name, leaves=n_leaves, params=n_params, optimizer=opt)

    layers = config["layers"]
    for opt in config["step_opts"] if "train_step" in groups else ():
        builds = {
            impl: (lambda impl=impl, opt=opt: cases.train_step_case(impl, opt, layers))
            for impl in cases.implementations(opt)
        }
        rows = measure(builds, reps, limit, _EVICT_ELEMENTS[mode])
        add(rows, group="train_step", tree=f"deep MLP {2 * layers} leaves", leaves=2 * layers,
            params=layers * (32 * 32 + 32), optimizer=opt)  # fmt: skip

    results["abandoned_compiles"] = len(_abandoned)
    report.write(results, out_dir)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="fewer shapes and repetitions (< 10 min)")
    group.add_argument("--smoke", action="store_true", help="tiny trees, 2 repetitions (seconds)")
    parser.add_argument(
        "--include-slow", action="store_true", help="also run the tree chain and lamb past max_tree_leaves"
    )
    parser.add_argument(
        "--time-limit", type=float, default=None, help="seconds per compile (default by mode)"
    )
    parser.add_argument("--only", choices=GROUPS, help="run only the update or the train_step cases")
    parser.add_argument("--output-dir", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    groups = (args.only,) if args.only else GROUPS
    run(mode, args.include_slow, args.time_limit, args.output_dir, groups)
    sys.stdout.flush()
    if any(t.is_alive() for t in _abandoned):
        os._exit(0)  # do not wait for compiles that missed their deadline


if __name__ == "__main__":
    main()
