"""Two checks for a GPU session (run by benchmarks/gpu.sh; `--dry` on CPU with tiny sizes).

    python -m benchmarks.gpu_checks adam --output-dir DIR [--dry]     # 1B-param Adam vs the HBM floor
    python -m benchmarks.gpu_checks parity --output-dir DIR [--dry]   # fuse / flat vs optax

`adam`: one donated Adam step on 10 float32 leaves of 100M (1B params), optax,
its A/A copy, gdx and flat, on the fair runner, with the floor probe (a donated
`x * 1.0001` over one float32 per param) in the same interleaved blocks:
floor = 28 bytes/param x params / measured bandwidth (adam reads p, g, m, v and
writes p, m, v). Target (issue 23): step <= 1.3x the floor.

`parity`: 5 steps of adam, chain(clip, adamw) and lamb on a mixed tree (large
and small leaves) with optax, gdx, gdx.fuse and gdx.flat (flat not for lamb);
the max abs difference of the params to optax's after each step.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import gdx  # noqa: E402
from benchmarks import cases, fair, report  # noqa: E402


def adam(out_dir: str, dry: bool) -> dict:
    n, size = (10, 1000) if dry else (10, 100_000_000)
    tree = ("ones", n, size)
    builds = {
        impl: fair.Build("benchmarks.cases:update_case", dict(impl=impl, opt="adam", tree=tree))
        for impl in ("optax", cases.AA, "gdx", "flat")
    }
    builds["floor probe"] = fair.Build("benchmarks.cases:copy_case", dict(total=n * size))
    rows = fair.measure(builds, blocks=5, steps=3, limit=300.0, evict_elements=1 << 16)
    probe = rows.pop("floor probe")
    results: dict[str, Any] = {"mode": "adam-1b" if not dry else "adam-dry", "machine": report.machine_info()}
    results["floors"], results["rows"] = {}, []
    if probe.get("step_ms"):
        bandwidth = 8 * n * size / probe["step_ms"] / 1e6  # GB/s
        floor = 28 * n * size / bandwidth / 1e6
        results["floors"][f"{n} x {report.human(size)}, adam"] = {
            "copy_elements": n * size, "copy_ms": probe["step_ms"], "bandwidth_gb_s": bandwidth
        }  # fmt: skip
        for row in rows.values():
            if row.get("step_ms"):
                row["floor_ms"], row["step_vs_floor"] = floor, row["step_ms"] / floor
    for row in rows.values():
        row.update(
            group="update", tree=f"{n} x {report.human(size)}", leaves=n, params=n * size, optimizer="adam"
        )
        results["rows"].append(row)
        report.print_row(row)
    report.write(results, out_dir, latest=False)
    return results


def _mixed_tree() -> dict[str, jax.Array]:
    rng = np.random.default_rng(0)
    shapes = [(256, 256), (256,), (3, 3, 16, 32), (32,)] * 8 + [(4096, 512)]
    return {f"p{i:03d}": jnp.asarray(rng.standard_normal(s, dtype=np.float32)) for i, s in enumerate(shapes)}


def parity(out_dir: str, dry: bool) -> dict:
    del dry  # the tree is small either way
    params = _mixed_tree()
    rng = np.random.default_rng(1)
    grads = [
        jax.tree.map(lambda p: jnp.asarray(rng.standard_normal(p.shape, dtype=np.float32)), params)
        for _ in range(5)
    ]
    rows = []
    for opt in cases.OPTIMIZERS:
        ref_tx = cases.make_optimizer(optax, opt)
        reference, state = params, ref_tx.init(params)
        ref_params = []
        for g in grads:
            updates, state = jax.jit(ref_tx.update)(g, state, reference)
            reference = optax.apply_updates(reference, updates)
            ref_params.append(reference)
        for impl in ("gdx", "fuse", "flat"):
            if impl == "flat" and opt == "lamb":
                continue
            tx = cases.make_optimizer(gdx, opt)
            if opt == "chain":  # the default clip: bit-identical to optax's
                schedule = gdx.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 10_000)
                tx = gdx.chain(gdx.clip_by_global_norm(1.0), gdx.adamw(schedule, weight_decay=1e-4))
            tx = gdx.fuse(tx) if impl == "fuse" else tx  # pyright: ignore[reportAttributeAccessIssue]
            p = params
            unravel = None
            if impl == "flat":
                p, unravel = gdx.flat.ravel(params)
            state = tx.init(p)
            diffs = []
            for g, ref in zip(grads, ref_params):
                g = gdx.flat.ravel(g)[0] if impl == "flat" else g
                updates, state = jax.jit(tx.update)(g, state, p)
                p = gdx.apply_updates(p, updates)
                tree = unravel(p) if unravel is not None else p
                diffs.append(
                    max(
                        float(jnp.max(jnp.abs(a - b)))
                        for a, b in zip(jax.tree.leaves(tree), jax.tree.leaves(ref))
                    )
                )
            rows.append(
                {"optimizer": opt, "impl": impl, "max_abs_diff_per_step": diffs, "max_abs_diff": max(diffs)}
            )
            print(f"parity {opt:6} {impl:5} max abs diff to optax {max(diffs):.3g}", flush=True)
    machine = report.machine_info()
    results = {"mode": "parity", "machine": machine, "rows": rows}
    os.makedirs(out_dir, exist_ok=True)
    kind = machine["device_kind"].lower().replace(" ", "-")
    stem = os.path.join(out_dir, f"{datetime.date.today().isoformat()}-{machine['backend']}-{kind}-parity")
    with open(stem + ".json", "w") as f:
        json.dump(results, f, indent=1)
    lines = [
        f"# fuse / flat parity with optax ({machine['backend']}, {machine['device_kind']}, "
        f"{machine['date']})",
        "",
        f"jax {machine['jax']}, optax {machine['optax']}. Params after 5 steps on a mixed tree "
        "(33 leaves, 2.8M params); max abs difference to optax's over the steps.",
        "",
        "| optimizer | impl | max abs diff |",
        "|---|---|---|",
        *[f"| {r['optimizer']} | {r['impl']} | {r['max_abs_diff']:.3g} |" for r in rows],
        "",
    ]
    with open(stem + ".md", "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {stem}.json, .md", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("check", choices=("adam", "parity"))
    parser.add_argument("--dry", action="store_true", help="tiny sizes (CPU)")
    parser.add_argument("--output-dir", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    (adam if args.check == "adam" else parity)(args.output_dir, args.dry)


if __name__ == "__main__":
    main()
