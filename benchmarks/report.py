"""Benchmark output: machine info, the console line per row, JSON, markdown table and plot."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import re
import shutil
from typing import Any

import jax


def human(n: int) -> str:
    """2000000 -> '2M', 100000 -> '100k', 200 -> '200'."""
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if n >= scale and n % (scale // 10) == 0:
            return f"{n / scale:g}{unit}"
    return str(n)


def machine_info() -> dict[str, Any]:
    """Platform, cores, backend, device kind and the jax/jaxlib/optax/flax versions."""
    import flax
    import optax

    device = jax.devices()[0]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "backend": jax.default_backend(),
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "jax": jax.__version__,
        "jaxlib": importlib.metadata.version("jaxlib"),
        "optax": optax.__version__,
        "flax": flax.__version__,
    }


def _seconds(row: dict) -> str:
    if row.get("skipped"):
        return "skipped"
    if row.get("error"):
        return "error"
    if row.get("compile_s") is None:
        return f"> {row['compile_limit_s']:g} s"
    return f"{row['compile_s']:.2f} s"


def _ratio(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def _cell(row: dict, key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    return (
        format(value, fmt) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    )


def spread(row: dict) -> str:
    """`0.97 (0.93-1.01)`: the median ratio to optax over the timed blocks and its min-max."""
    value = row.get("step_vs_optax")
    if value is None:
        return ""
    if row.get("step_vs_optax_lo") is None:
        return f"{value:.2f}"
    return f"{value:.2f} ({row['step_vs_optax_lo']:.2f}-{row['step_vs_optax_hi']:.2f})"


def print_row(row: dict) -> None:
    """One console line per measured implementation."""
    step = f"{row['step_ms']:.3f} ms" if row.get("step_ms") is not None else "-"
    print(
        f"{row.get('group', ''):10} {row.get('tree', ''):22} {row.get('optimizer', ''):6} {row['impl']:6} "
        f"compile {_seconds(row):>10}  step {step:>12}  vs optax {spread(row):>18}  "
        f"vs floor {_ratio(row.get('step_vs_floor')):>6}  {row.get('error', '')}",
        flush=True,
    )


COLUMNS = [
    ("group", "group"),
    ("tree", "tree"),
    ("optimizer", "optimizer"),
    ("impl", "impl"),
    ("compile", None),
    ("compile ÷ optax", "compile_vs_optax"),
    ("step ms", "step_ms"),
    ("step ÷ optax", "step_vs_optax"),
    ("step ÷ floor", "step_vs_floor"),
    ("temp MB", "temp_mb"),
    ("total MB", "total_mb"),
    ("note", None),
]


def markdown(results: dict) -> str:
    """The results as a markdown document: machine, floors, one table row per implementation."""
    m = results["machine"]
    lines = [
        f"# gdx vs optax benchmark ({results['mode']}, {m['date']})",
        "",
        f"Machine: {m['platform']}, {m['cpu_count']} cores, backend {m['backend']} ({m['device_kind']}, "
        f"{m['device_count']} device(s)); load average at start {m['load_average']}.  ",
        f"Versions: jax {m['jax']}, jaxlib {m['jaxlib']}, optax {m['optax']}, flax {m['flax']}.",
    ]
    if results["floors"]:
        lines += [
            "",
            "Bandwidth floor (donated `x * 1.0001` over 4.5 float32 per param, the bytes of a lamb step):",
            "",
            "| case | copy ms | GB/s |",
            "|---|---|---|",
        ]
    for tree, floor in results["floors"].items():
        lines.append(f"| {tree} | {floor['copy_ms']:.3f} | {floor['bandwidth_gb_s']:.1f} |")
    lines += ["", "| " + " | ".join(c for c, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    formats = {"step_ms": ".3f", "temp_mb": ".2f", "total_mb": ".2f"}
    for row in results["rows"]:
        cells = []
        for title, key in COLUMNS:
            if title == "compile":
                cells.append(_seconds(row))
            elif key == "compile_vs_optax" and row.get("compile_vs_optax_below") is not None:
                cells.append(f"< {row['compile_vs_optax_below']:.2f}")
            elif key == "step_vs_optax":
                cells.append(spread(row))
            elif title == "note":
                notes = [row.get("skipped") or "", row.get("error") or "", row.get("note") or ""]
                if row.get("busy") or row.get("background_compile"):  # results of the old runner
                    notes.append("measured while an abandoned compile ran")
                if row.get("loss_max_abs_diff") is not None:
                    notes.append(f"loss diff {row['loss_max_abs_diff']:.1e}")
                cells.append("; ".join(n for n in notes if n))
            else:
                cells.append(_cell(row, key or "", formats.get(key or "", ".2f")))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        "Ratios < 1 are better than optax / closer to the floor. Floor = bytes/param "
        "(adam 28, chain 32, lamb 36) x params / measured copy bandwidth. Each implementation "
        "ran in its own process, timed in interleaved blocks in rotated order; step ÷ optax is "
        "the median over blocks of the per-block ratio (min-max in brackets); `optax (A/A)` is a "
        "second copy of optax's case, so its ratio is the run's noise level.",
        "",
    ]
    return "\n".join(lines)


def plot(results: dict, path: str) -> bool:
    """Plots adam's compile and step time vs leaf count per implementation; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [r for r in results["rows"] if r.get("group") == "update" and r.get("optimizer") == "adam"]
    rows = [r for r in rows if not str(r.get("tree", "")).startswith("transformer")]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for impl in ("optax", "gdx", "fuse", "flat"):
        mine = sorted((r for r in rows if r["impl"] == impl), key=lambda r: r["leaves"])
        for ax, key in zip(axes, ("compile_s", "step_ms")):
            points = [(r["leaves"], r[key]) for r in mine if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=impl)
    for ax, title in zip(axes, ("compile time (s)", "step time (ms)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("leaves (adam, float32)")
        ax.set_title(title)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle(f"gdx vs optax, {results['machine']['device_kind']}, {results['mode']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_partial(results: dict, out_dir: str) -> str:
    """Writes the rows so far to `.<mode>-partial.json` (a run cut off by a time limit keeps
    them; `write` removes the file); returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f".{results['mode']}-partial.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
    return path


def write(results: dict, out_dir: str, latest: bool = True) -> str:
    """Writes `<date>-<machine>-<mode>[-N].{json,md,png}` and, with `latest`, `latest.md`; the stem."""
    os.makedirs(out_dir, exist_ok=True)
    partial = os.path.join(out_dir, f".{results['mode']}-partial.json")
    if os.path.exists(partial):
        os.remove(partial)
    m = results["machine"]
    kind = "" if m["device_kind"].lower() == m["backend"] else f"-{m['device_kind']}"
    machine = re.sub(r"[^A-Za-z0-9]+", "-", f"{m['backend']}{kind}-{m['cpu_count']}cores").strip("-")
    base = os.path.join(out_dir, f"{datetime.date.today().isoformat()}-{machine.lower()}-{results['mode']}")
    stem, run = base, 2
    while os.path.exists(stem + ".json"):  # a later run the same day gets -2, -3, ...
        stem, run = f"{base}-{run}", run + 1
    with open(stem + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    text = markdown(results)
    if plot(results, stem + ".png"):
        text += f"\n![compile and step time vs leaves]({os.path.basename(stem)}.png)\n"
    with open(stem + ".md", "w") as f:
        f.write(text)
    if latest:
        shutil.copyfile(stem + ".md", os.path.join(out_dir, "latest.md"))
    print(
        f"\nwrote {stem}.json, .md{', .png' if text.count('![') else ''}{' and latest.md' if latest else ''}",
        flush=True,
    )
    return stem
