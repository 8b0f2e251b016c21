"""gdx vs optax benchmark: compile time, step time, memory, and the bandwidth floor, in one run.

    python -m benchmarks.run            # full (make bench)
    python -m benchmarks.run --quick    # a few minutes (make bench-quick)
    python -m benchmarks.run --smoke    # seconds; run by tests/test_benchmarks_smoke.py

For each case the implementations (optax, its A/A copy, gdx, gdx.fuse,
gdx.flat) and the bandwidth probe each run in a fresh worker process
(`benchmarks/fair.py`): compiled one at a time with a deadline (a worker past
it is killed, the row says `> N s`), then their donated steps are timed in
interleaved blocks, in an order rotated per block, so machine noise hits all of
them; each ratio to optax is the median over blocks with its min-max spread.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py`: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import cases, fair, report  # noqa: E402

# Per mode: tree shapes and optimizers of the update cases, the Flax transformer
# (blocks, width), the whole-step model's layers and optimizers, timed blocks and
# steps per block, the compile deadline in seconds, and `max_tree_leaves`: above that
# many leaves the tree implementations (optax, plain gdx) of the chain and lamb are
# not run (their compiles take minutes: optax's chain at 5000 leaves 825-918 s, issue 4).
# `--include-slow` runs them anyway.
MODES: dict[str, dict[str, Any]] = {
    "full": dict(
        shapes=cases.SHAPES_FULL, opts=cases.OPTIMIZERS, transformer=(12, 256),
        layers=1000, step_opts=("adam", "chain"), reps=10, steps=3, limit=300.0, max_tree_leaves=2000,
    ),
    "quick": dict(
        shapes=cases.SHAPES_QUICK, opts=cases.OPTIMIZERS, transformer=(12, 128),
        layers=1000, step_opts=("adam",), reps=5, steps=2, limit=90.0, max_tree_leaves=200,
    ),
    "smoke": dict(
        shapes=cases.SHAPES_SMOKE, opts=("adam",), transformer=(1, 16),
        layers=3, step_opts=("adam",), reps=2, steps=1, limit=600.0, transformer_update=False,
    ),
}  # fmt: skip

GROUPS = ("update", "train_step")
FLOOR_PROBE = "floor probe"  # the bandwidth probe's key among the implementations of a case

# Every timed call starts with cold caches (fair.py): 256 MB of float32 streamed first.
_EVICT_ELEMENTS = {"full": 1 << 26, "quick": 1 << 26, "smoke": 1 << 16}


def measure(
    builds: dict[str, fair.Build], config: dict[str, Any], limit: float, mode: str
) -> dict[str, dict]:
    """`fair.measure` with the mode's blocks and steps per block."""
    return fair.measure(
        builds,
        blocks=config["reps"],
        steps=config["steps"],
        limit=limit,
        evict_elements=_EVICT_ELEMENTS[mode],
    )


def run(
    mode: str,
    include_slow: bool,
    time_limit: float | None,
    out_dir: str,
    groups: tuple[str, ...] = GROUPS,
    latest: bool = True,
) -> dict:
    """Runs every case of `mode`; returns (and writes) the results."""
    config = MODES[mode]
    limit: float = time_limit or config["limit"]
    label = mode if set(groups) == set(GROUPS) else f"{mode}-{'-'.join(groups)}"
    results: dict[str, Any] = {"mode": label, "machine": report.machine_info(), "rows": [], "floors": {}}

    def add(rows: dict[str, dict], **fields):  # the ratios to optax come from fair.measure
        for row in rows.values():
            row.update(fields)
            results["rows"].append(row)
            report.print_row(row)
        report.write_partial(results, out_dir)

    trees: list[tuple[str, tuple, int, int]] = [
        (f"{n} x {report.human(size)}", ("leaves", n, size), n, n * size) for n, size in config["shapes"]
    ]
    blocks, width = config["transformer"]
    leaves = jax.tree.leaves(cases.transformer_shapes(blocks, width))
    if config.get("transformer_update", True):  # smoke: not run (each case starts 6 processes)
        trees.append(
            (f"transformer {blocks}x{width}", ("transformer", blocks, width), len(leaves),
             sum(int(np.prod(s.shape)) for s in leaves))
        )  # fmt: skip

    for name, tree, n_leaves, n_params in trees if "update" in groups else []:
        # The probe moves as many bytes as the heaviest optimizer step (lamb, 36 B/param), so
        # it is no more cache-resident than the steps it is compared with (a probe of one
        # float32 per param fits in a large L3 at 2000 x 1k and overstates the bandwidth 5x).
        elements = n_params * max(cases.FLOOR_BYTES_PER_PARAM.values()) // 8
        for opt in config["opts"]:
            builds = {}
            for impl in cases.implementations(opt):
                skip = cases.RECORDED_SLOW.get((impl, opt, n_leaves, n_params // max(n_leaves, 1)))
                if (
                    not skip
                    and opt in ("chain", "lamb")
                    and impl in ("optax", cases.AA, "gdx")
                    and n_leaves > config.get("max_tree_leaves", n_leaves)
                ):
                    skip = f"not run in {mode} mode (tree compiles take minutes); run with --include-slow"
                if skip and not include_slow:
                    results["rows"].append(dict(impl=impl, group="update", tree=name, leaves=n_leaves,
                                                params=n_params, optimizer=opt, skipped=skip))  # fmt: skip
                    continue
                builds[impl] = fair.Build("benchmarks.cases:update_case", dict(impl=impl, opt=opt, tree=tree))
            # The floor probe is timed in the same interleaved blocks as the steps, so a
            # change of the machine's bandwidth during the case moves both.
            builds[FLOOR_PROBE] = fair.Build("benchmarks.cases:copy_case", dict(total=elements))
            rows = measure(builds, config, limit, mode)
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
            impl: fair.Build("benchmarks.cases:train_step_case", dict(impl=impl, opt=opt, layers=layers))
            for impl in cases.implementations(opt)
        }
        rows = measure(builds, config, limit, mode)
        add(rows, group="train_step", tree=f"deep MLP {2 * layers} leaves", leaves=2 * layers,
            params=layers * (32 * 32 + 32), optimizer=opt)  # fmt: skip

    report.write(results, out_dir, latest=latest)
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
    parser.add_argument("--no-latest", action="store_true", help="do not copy the table to latest.md")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    groups = (args.only,) if args.only else GROUPS
    run(mode, args.include_slow, args.time_limit, args.output_dir, groups, latest=not args.no_latest)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
