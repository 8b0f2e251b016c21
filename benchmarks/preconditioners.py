"""Memory, step time and compile time of Shampoo and SOAP against Adam (all gdx).

    python -m benchmarks.preconditioners [--reps 7] [--chunk 10] [--out benchmarks/results]

Two trees: an MLP (784x512, 512x512, 512x10 + biases) and one transformer block
(d=512: qkv 512x1536, out 512x512, MLP 512x2048 / 2048x512, two LayerNorms,
biases). For each optimizer: optimizer-state bytes (from `jax.eval_shape` of
`init`, so nothing is allocated), compile time of the donated jitted step, and
the median over `--reps` interleaved samples (adam, shampoo, ..., adam, ...) of
the mean time of `--chunk` consecutive steps, so SOAP's eigenbasis refresh
(every 10 steps) and Shampoo's inverse roots (every `preconditioning_compute_steps`)
are amortised as in training. Ratios are against Adam in the same run.
Writes `preconditioners.json` and `.md` to `--out`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import gdx
from benchmarks.report import machine_info

OPTIMIZERS: dict[str, Callable[[], Any]] = {
    "adam": lambda: gdx.adam(1e-3),
    "shampoo": lambda: gdx.shampoo(1e-3),
    "shampoo (roots every 10 steps)": lambda: gdx.shampoo(1e-3, preconditioning_compute_steps=10),
    "soap": lambda: gdx.soap(3e-3),
}


def mlp_shapes() -> dict[str, tuple[int, ...]]:
    return {
        "dense0/kernel": (784, 512),
        "dense0/bias": (512,),
        "dense1/kernel": (512, 512),
        "dense1/bias": (512,),
        "dense2/kernel": (512, 10),
        "dense2/bias": (10,),
    }


def transformer_block_shapes(width: int = 512) -> dict[str, tuple[int, ...]]:
    return {
        "ln1/scale": (width,),
        "ln1/bias": (width,),
        "attn/qkv/kernel": (width, 3 * width),
        "attn/qkv/bias": (3 * width,),
        "attn/out/kernel": (width, width),
        "attn/out/bias": (width,),
        "ln2/scale": (width,),
        "ln2/bias": (width,),
        "mlp/up/kernel": (width, 4 * width),
        "mlp/up/bias": (4 * width,),
        "mlp/down/kernel": (4 * width, width),
        "mlp/down/bias": (width,),
    }


TREES = {"mlp": mlp_shapes, "transformer_block": transformer_block_shapes}


def random_tree(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, jax.Array]:
    rng = np.random.default_rng(seed)
    return {k: jnp.asarray(0.02 * rng.standard_normal(s, dtype=np.float32)) for k, s in shapes.items()}


def state_bytes(tx: Any, params: Any) -> int:
    shapes = jax.eval_shape(tx.init, params)
    return sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree.leaves(shapes))


class Runner:
    """A compiled donated step of one optimizer and its live params/state."""

    def __init__(self, tx: Any, shapes: dict[str, tuple[int, ...]]):
        self.params = random_tree(shapes, seed=0)
        self.grads = random_tree(shapes, seed=1)
        self.state = tx.init(self.params)

        def step(params, state, grads):
            updates, state = tx.update(grads, state, params)
            return gdx.apply_updates(params, updates), state

        start = time.perf_counter()
        self.step = jax.jit(step, donate_argnums=(0, 1)).lower(self.params, self.state, self.grads).compile()
        self.compile_s = time.perf_counter() - start
        self.run(1)  # first execution (allocations) outside the timings

    def run(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.params, self.state = self.step(self.params, self.state, self.grads)
        jax.block_until_ready((self.params, self.state))
        return (time.perf_counter() - start) / steps


def measure(tree: str, reps: int, chunk: int) -> list[dict[str, Any]]:
    shapes = TREES[tree]()
    n_params = sum(math.prod(s) for s in shapes.values())
    runners, rows = {}, {}
    for name, make in OPTIMIZERS.items():
        tx = make()
        nbytes = state_bytes(tx, random_tree(shapes, seed=0))
        runners[name] = Runner(tx, shapes)
        rows[name] = {
            "tree": tree,
            "optimizer": name,
            "params": n_params,
            "state_bytes": nbytes,
            "state_bytes_per_param": nbytes / n_params,
            "compile_s": runners[name].compile_s,
            "samples_ms": [],
        }
    for _ in range(reps):  # interleaved: machine noise hits every optimizer alike
        for name, runner in runners.items():
            rows[name]["samples_ms"].append(runner.run(chunk) * 1e3)
    adam = rows["adam"]
    for row in rows.values():
        row["step_ms"] = float(np.median(row["samples_ms"]))
        row["memory_vs_adam"] = row["state_bytes"] / adam["state_bytes"]
        row["step_time_vs_adam"] = row["step_ms"] / float(np.median(adam["samples_ms"]))
        row["compile_vs_adam"] = row["compile_s"] / adam["compile_s"]
    return list(rows.values())


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Shampoo and SOAP vs Adam: optimizer-state memory, step time, compile time",
        "",
        f"{m['date']}; {m['platform']}; {m['cpu_count']} cores; backend {m['backend']} ({m['device_kind']}); "
        f"jax {m['jax']}, jaxlib {m['jaxlib']}, optax {m['optax']}, flax {m['flax']}; "
        f"load average {m['load_average']}.",
        "",
        f"Step time: median of {results['reps']} interleaved samples, each the mean of "
        f"{results['chunk']} consecutive donated steps (refreshes amortised). "
        "Defaults: shampoo block_size=128, roots every step (and every 10); soap refresh every 10 steps.",
        "",
        "| tree | optimizer | params | state MiB | bytes/param | x adam "
        "| step ms | x adam | compile s | x adam |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["rows"]:
        lines.append(
            f"| {r['tree']} | {r['optimizer']} | {r['params']:,} | {r['state_bytes'] / 2**20:.2f} | "
            f"{r['state_bytes_per_param']:.1f} | {r['memory_vs_adam']:.2f} | {r['step_ms']:.2f} | "
            f"{r['step_time_vs_adam']:.1f} | {r['compile_s']:.2f} | {r['compile_vs_adam']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    rows = []
    for tree in TREES:
        for row in measure(tree, args.reps, args.chunk):
            print(
                f"{row['tree']:18s} {row['optimizer']:31s} state {row['state_bytes'] / 2**20:7.2f} MiB "
                f"(x{row['memory_vs_adam']:.2f})  step {row['step_ms']:9.2f} ms "
                f"(x{row['step_time_vs_adam']:.1f})  "
                f"compile {row['compile_s']:.2f} s"
            )
            rows.append(row)
    results = {"machine": machine_info(), "reps": args.reps, "chunk": args.chunk, "rows": rows}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "preconditioners.json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(args.out, "preconditioners.md"), "w") as f:
        f.write(markdown(results))


if __name__ == "__main__":
    main()
