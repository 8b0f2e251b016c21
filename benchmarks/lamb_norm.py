"""LAMB's step with optax's trust-ratio norm (gdx's default) and with `fast_norm=True`, vs optax.

    python -m benchmarks.lamb_norm            # about two minutes on 2 cores
    python -m benchmarks.lamb_norm --reps 5   # quicker, noisier

Times the jitted, donated tree LAMB step (`benchmarks.cases.optimizer_case`'s
step) on the 10 x 2M and 200 x 100k trees for three implementations in one
process, interleaved round by round so machine noise hits all three alike, and
reports the median step time of each as a ratio to optax's. Writes
`results/<date>-lamb-norm.md`.
"""

import argparse
import datetime
import os
import platform
import statistics
import time
from typing import Any

import jax
import optax

import gdx
from benchmarks import cases

TREES = {"10 x 2M": (10, 2_000_000), "200 x 100k": (200, 100_000)}
IMPLS = {
    "optax": lambda: (optax.lamb(1e-3), optax.apply_updates),
    "gdx (default, optax's norm)": lambda: (gdx.lamb(1e-3), gdx.apply_updates),
    "gdx fast_norm=True": lambda: (gdx.lamb(1e-3, fast_norm=True), gdx.apply_updates),
}


def _step_case(make: Any, params: Any) -> tuple[Any, Any]:
    tx, apply = make()
    grads = jax.tree.map(lambda p: p * 1e-3, params)

    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return apply(params, updates), state

    params = jax.tree.map(lambda p: p.copy(), params)
    jitted = jax.jit(step, donate_argnums=(0, 1))

    def run(carry: tuple[Any, Any]) -> tuple[Any, Any]:
        with jax.numpy_dtype_promotion("standard"):
            return jitted(carry[0], carry[1], grads)

    carry = run((params, tx.init(params)))  # compile and warm up
    jax.block_until_ready(carry)
    return run, carry


def measure(reps: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for tree_name, (leaves, size) in TREES.items():
        params = cases.make_tree(leaves, size)
        runners = {name: _step_case(make, params) for name, make in IMPLS.items()}
        carries = {name: carry for name, (_, carry) in runners.items()}
        times: dict[str, list[float]] = {name: [] for name in IMPLS}
        for _ in range(reps):
            for name, (run, _) in runners.items():
                start = time.perf_counter()
                carries[name] = run(carries[name])
                jax.block_until_ready(carries[name])
                times[name].append(time.perf_counter() - start)
        results[tree_name] = {name: statistics.median(ts) for name, ts in times.items()}
        del runners, carries
    return results


def report(results: dict[str, dict[str, float]], reps: int) -> str:
    lines = [
        f"# LAMB trust-ratio norm: optax's (default) vs fast_norm=True ({datetime.date.today()})",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {jax.devices()[0].platform}; "
        f"jax {jax.__version__}, optax {optax.__version__}. Median of {reps} interleaved jitted, "
        "donated steps; ratio = step time / optax's step time (lower is faster).",
        "",
        "| tree | " + " | ".join(IMPLS) + " |",
        "| --- | " + " | ".join("---" for _ in IMPLS) + " |",
    ]
    for tree_name, medians in results.items():
        optax_time = medians["optax"]
        cells = [f"{medians[name] * 1e3:.1f} ms ({medians[name] / optax_time:.2f}x)" for name in IMPLS]
        lines.append(f"| {tree_name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--output-dir", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    text = report(measure(args.reps), args.reps)
    print(text)
    os.makedirs(args.output_dir, exist_ok=True)
    path = os.path.join(args.output_dir, f"{datetime.date.today()}-lamb-norm.md")
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
