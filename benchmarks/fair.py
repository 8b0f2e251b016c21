"""Fair timing: each implementation of a case in its own fresh process, rotated and interleaved.

Why: compiled in one process, the executable compiled first stepped up to 10%
faster at thousands of leaves (the old runner compiled optax first, so every
ratio leaned its way; the cause inside XLA:CPU is not known). Here:

- every implementation (and the bandwidth probe) is built, compiled and run in
  a fresh `spawn`ed worker process, so no executable shares a process, an
  allocator or a compilation cache with another;
- every worker imports first; then compiles run one at a time (no import and no
  other compile competes for the cores), each with a deadline; a worker past it
  is killed (a process can be, a thread could not);
- the timed steps are interleaved: in repetition block `r` the parent asks each
  worker in turn, in an order rotated by `r`, for `steps` timed steps, so a
  drift of the machine hits every implementation;
- a ratio to optax is computed per block (median step of the block over
  optax's median in the same block), and reported as the median over blocks
  with its min-max spread. An `optax (A/A)` worker, a second copy of optax's
  case, measures the noise: its ratio should read 1.00 within that spread.

A build is named by a `"module:function"` string and keyword arguments (both
picklable); the function returns a `cases.Case` and runs in the worker.
"""

from __future__ import annotations

import importlib
import multiprocessing
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Build:
    """What a worker builds: `module:function(**kwargs) -> cases.Case`."""

    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def memory(compiled: Any) -> dict[str, float]:
    """Temporaries and arguments + outputs + temporaries - donated aliases, MB (`memory_analysis`)."""
    analysis = compiled.memory_analysis()
    if analysis is None:
        return {}
    mb = lambda name: getattr(analysis, name, 0) / 1e6
    total = (mb("argument_size_in_bytes") + mb("output_size_in_bytes") + mb("temp_size_in_bytes")) - mb(
        "alias_size_in_bytes"
    )
    return {"temp_mb": round(mb("temp_size_in_bytes"), 3), "total_mb": round(total, 3)}


def _worker(conn: Any, build: Build, evict_elements: int) -> None:
    """Child process: build and compile on "compile", then `steps` timed calls per "run"."""
    try:
        import jax

        module, name = build.target.split(":")
        make_case = getattr(importlib.import_module(module), name)
        conn.send({"imported": True})  # so no import competes with another worker's compile
        conn.recv()  # "compile": compiles run one at a time, when the parent says so
        case = make_case(**build.kwargs)
        start = time.perf_counter()
        compiled = case.fn.lower(*case.carry, *case.const).compile()
        seconds = time.perf_counter() - start
        conn.send({"compile_s": seconds, **memory(compiled), **getattr(case, "info", {})})
    except Exception as error:  # reported in the row; the run goes on
        conn.send({"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()})
        return
    # Every timed call starts with cold caches, as an optimizer step does in training
    # (forward and backward run in between): stream a buffer larger than the L3 first.
    evict = jax.jit(lambda x: x + 1.0, donate_argnums=0)
    buffer = jax.numpy.zeros((evict_elements,), "float32")
    carry = case.carry
    while True:
        message = conn.recv()
        if message[0] == "stop":
            conn.send({"carry": None})
            return
        times, losses = [], []
        for _ in range(message[1]):
            buffer = evict(buffer)
            buffer.block_until_ready()
            start = time.perf_counter()
            out = compiled(*carry, *case.const)
            jax.block_until_ready(out)
            times.append(time.perf_counter() - start)
            out = out if isinstance(out, tuple) else (out,)
            carry = tuple(out[: case.n_carry])
            if len(out) > case.n_carry:  # a train step's loss
                losses.append(float(out[case.n_carry]))
        conn.send({"times": times, "losses": losses})


def measure(
    builds: dict[str, Build],
    *,
    blocks: int,
    steps: int,
    limit: float,
    evict_elements: int,
    reference: str = "optax",
) -> dict[str, dict]:
    """Compiles every build in its own process, then times them interleaved; one row per build.

    Row fields: `compile_s` (None past `limit`), `temp_mb`, `total_mb`, `step_ms`
    (median of all timed steps), `step_vs_<reference>` with `_lo` / `_hi` (median and
    min-max over blocks of the per-block ratio), `losses` (every loss a train step
    returned, warm-up included), or `error`.
    """
    context = multiprocessing.get_context("spawn")
    workers: dict[str, tuple[Any, Any]] = {}
    for impl, build in builds.items():  # start all (imports overlap), compile one by one
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(child, build, evict_elements), daemon=True)
        process.start()
        workers[impl] = (process, parent)
    rows: dict[str, dict] = {}
    ready: list[str] = []
    try:
        for impl, (process, conn) in workers.items():
            rows[impl] = {"impl": impl, "compile_limit_s": limit}
            # Every worker has imported (jax, flax, the case's module) before the first compile:
            # imports running beside it made the first-compiled implementation's compile up to
            # 1.5x slower (2026-12-03: optax 74 s against its A/A copy's 49 s).
            if conn.poll(limit):
                reply = conn.recv()
            else:
                process.kill()
                reply = {"error": f"imports took over {limit:.0f} s"}
            if "error" in reply:
                reply.pop("traceback", None)
                rows[impl].update(reply)
        for impl, (process, conn) in workers.items():
            if "error" in rows[impl]:
                continue
            conn.send("compile")
            start = time.perf_counter()
            # The deadline covers the build too (params, init) but not the worker's imports.
            if not conn.poll(limit):
                process.kill()
                rows[impl]["compile_s"] = None
                continue
            reply = conn.recv()
            reply.pop("traceback", None)
            rows[impl].update(reply)
            rows[impl].setdefault("build_and_compile_s", time.perf_counter() - start)
            if "error" not in reply:
                ready.append(impl)
        samples: dict[str, list[list[float]]] = {impl: [] for impl in ready}
        losses: dict[str, list[float]] = {impl: [] for impl in ready}
        for block in range(blocks + 1):  # block 0 warms up (first-call allocation, page faults)
            order = ready[block % len(ready) :] + ready[: block % len(ready)] if ready else []
            for impl in order:
                conn = workers[impl][1]
                conn.send(("run", steps))
                reply = conn.recv()
                losses[impl] += reply["losses"]
                if block:
                    samples[impl].append(reply["times"])
        for impl in ready:
            rows[impl]["step_ms"] = float(np.median(np.concatenate(samples[impl]))) * 1e3
            rows[impl]["step_samples"] = len(samples[impl]) * steps
            if losses[impl]:
                rows[impl]["losses"] = losses[impl]
        if reference in ready:
            ref = [np.median(s) for s in samples[reference]]
            for impl in ready:
                ratios = [np.median(s) / r for s, r in zip(samples[impl], ref)]
                rows[impl]["step_vs_optax"] = float(np.median(ratios))
                rows[impl]["step_vs_optax_lo"] = float(np.min(ratios))
                rows[impl]["step_vs_optax_hi"] = float(np.max(ratios))
        ref_compile = rows.get(reference, {}).get("compile_s")
        for row in rows.values():
            if ref_compile and row.get("compile_s") is not None:
                row["compile_vs_optax"] = row["compile_s"] / ref_compile
            elif row.get("compile_s") is not None and reference in rows and "error" not in rows[reference]:
                row["compile_vs_optax_below"] = row["compile_s"] / limit  # optax missed its deadline
    finally:
        for impl, (process, conn) in workers.items():
            if process.is_alive():
                if impl in ready:
                    try:
                        conn.send(("stop",))
                        conn.poll(10)
                    except (BrokenPipeError, OSError):
                        pass
                process.join(5)
                if process.is_alive():
                    process.kill()
            process.join()
    return rows
