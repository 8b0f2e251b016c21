"""Optimizer-state memory, step time and accuracy of gdx's precision options.

    python -m benchmarks.memory [--quick]

For each option (float32 Adam, `mu_dtype=bfloat16`, `nu_dtype=bfloat16`,
both, bf16 params + `master_weights`, 8-bit `quantized_state`) it reports:

- state bytes per parameter, from `gdx.memory_report` (no allocation), on a
  GPT-2-small-sized tree of shapes (124M params);
- step time relative to float32 Adam on a 4M-parameter tree: the update plus
  `apply_updates`, jitted with donated buffers, options interleaved, median of
  the rounds (ratios from one run; never absolute times across runs);
- test accuracy on scikit-learn's digits (an MLP 64-256-256-10, a fixed split,
  3 seeds) for float32 Adam, 8-bit Adam and bf16 params + master weights.

Writes `benchmarks/results/memory.json` and `memory.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import gdx
from benchmarks.report import machine_info
from gdx.demo import data
from gdx.precision import master_weights, quantized_state

RESULTS = os.path.join(os.path.dirname(__file__), "results")

# --- the digits MLP (plain JAX, so any param dtype works) -----------------------


def init_mlp(key: jax.Array, sizes: tuple[int, ...] = (64, 256, 256, 10), dtype: Any = jnp.float32) -> dict:
    """He-initialized dense layers `{"layer<i>": {"w", "b"}}` in `dtype`."""
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        key, sub = jax.random.split(key)
        w = jax.random.normal(sub, (fan_in, fan_out), jnp.float32) * np.sqrt(2.0 / fan_in)
        params[f"layer{i}"] = {"w": w.astype(dtype), "b": jnp.zeros([fan_out], dtype)}
    return params


def logits_fn(params: dict, x: jax.Array) -> jax.Array:
    layers = [params[name] for name in sorted(params)]
    for i, layer in enumerate(layers):
        x = x.astype(layer["w"].dtype) @ layer["w"]
        x = x + jnp.broadcast_to(layer["b"], x.shape)  # explicit: tests raise on rank promotion
        if i < len(layers) - 1:
            x = jax.nn.relu(x)
    return x.astype(jnp.float32)


def loss_fn(params: dict, x: jax.Array, y: jax.Array) -> jax.Array:
    log_probs = jax.nn.log_softmax(logits_fn(params, x))
    return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1))


def digits_accuracy(
    tx: gdx.GradientTransformation,
    seed: int,
    *,
    steps: int = 600,
    batch_size: int = 128,
    param_dtype: Any = jnp.float32,
    hidden: int = 256,
) -> float:
    """Test accuracy (in [0, 1]) of the digits MLP after `steps` mini-batch steps of `tx`."""
    x_train, y_train, x_test, y_test = data.load_digits_split(0)
    indices = data.batch_indices(len(x_train), batch_size, steps, seed)
    params = init_mlp(jax.random.key(seed), (64, hidden, hidden, 10), param_dtype)
    x_train, y_train = jnp.asarray(x_train), jnp.asarray(y_train)

    @jax.jit
    def train(params, indices):
        def step(carry, batch):
            params, state = carry
            grads = jax.grad(loss_fn)(params, x_train[batch], y_train[batch])
            updates, state = tx.update(grads, state, params)
            return (gdx.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), indices)
        return params

    params = train(params, jnp.asarray(indices))
    predictions = jnp.argmax(logits_fn(params, jnp.asarray(x_test)), axis=-1)
    return float(jnp.mean(predictions == jnp.asarray(y_test)))


# --- the options -----------------------------------------------------------------

LEARNING_RATE = 1e-3


def options() -> dict[str, tuple[Callable[[], gdx.GradientTransformation], Any]]:
    """name -> (optimizer factory, param dtype)."""
    adam = gdx.adam
    return {
        "adam float32": (lambda: adam(LEARNING_RATE), jnp.float32),
        "adam mu bf16": (lambda: adam(LEARNING_RATE, mu_dtype=jnp.bfloat16), jnp.float32),
        "adam nu bf16": (lambda: adam(LEARNING_RATE, nu_dtype=jnp.bfloat16), jnp.float32),
        "adam mu+nu bf16": (
            lambda: adam(LEARNING_RATE, mu_dtype=jnp.bfloat16, nu_dtype=jnp.bfloat16),
            jnp.float32,
        ),
        "bf16 params + master_weights(adam)": (lambda: master_weights(adam(LEARNING_RATE)), jnp.bfloat16),
        "adam 8-bit (quantized_state)": (lambda: quantized_state(adam(LEARNING_RATE)), jnp.float32),
        "sgd (reference)": (lambda: gdx.sgd(LEARNING_RATE), jnp.float32),
    }


def gpt2_small_shapes(dtype: Any) -> dict:
    """`ShapeDtypeStruct`s of a GPT-2-small-sized model (124M params), for `memory_report`."""
    d, vocab, layers = 768, 50257, 12
    tree: dict[str, Any] = {"wte": (vocab, d), "wpe": (1024, d), "ln_f": (d,)}
    for i in range(layers):
        tree[f"h{i}"] = {"attn": (d, 3 * d), "proj": (d, d), "fc": (d, 4 * d), "out": (4 * d, d), "ln": (d,)}
    return jax.tree.map(
        lambda shape: jax.ShapeDtypeStruct(shape, dtype), tree, is_leaf=lambda x: isinstance(x, tuple)
    )


def timing_params(dtype: Any) -> dict:
    """About 4M params: four 1024x1024 matrices and their biases."""
    keys = jax.random.split(jax.random.key(0), 4)
    return {
        f"layer{i}": {"w": jax.random.normal(k, (1024, 1024)).astype(dtype), "b": jnp.zeros([1024], dtype)}
        for i, k in enumerate(keys)
    }


def step_time_ratios(names: list[str], rounds: int, steps_per_round: int) -> dict[str, float]:
    """Median seconds per step of each option divided by float32 Adam's, rounds interleaved."""
    runners = {}
    for name in names:
        make, dtype = options()[name]
        tx = make()
        params = timing_params(dtype)
        grads = jax.tree.map(lambda p: (p * 1e-3).astype(p.dtype), params)

        def step(params, state, grads, tx=tx):
            updates, state = tx.update(grads, state, params)
            return gdx.apply_updates(params, updates), state

        runners[name] = [jax.jit(step, donate_argnums=(0, 1)), params, tx.init(params), grads]
        runners[name][1], runners[name][2] = runners[name][0](*runners[name][1:])  # compile
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name, runner in runners.items():
            fn, params, state, grads = runner
            start = time.perf_counter()
            for _ in range(steps_per_round):
                params, state = fn(params, state, grads)
            jax.block_until_ready(params)
            samples[name].append((time.perf_counter() - start) / steps_per_round)
            runner[1], runner[2] = params, state
    base = statistics.median(samples["adam float32"])
    return {name: statistics.median(s) / base for name, s in samples.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Optimizer-state memory, step time and accuracy.")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and one seed (a smoke run)")
    args = parser.parse_args(argv)
    names = list(options())
    results: dict[str, Any] = {"machine": machine_info(), "rows": {}, "accuracy": {}}

    for name in names:
        make, dtype = options()[name]
        report = gdx.memory_report(make(), gpt2_small_shapes(dtype))
        results["rows"][name] = {
            "state_bytes_per_param": report.bytes_per_param,
            "state_bytes": report.state_bytes,
            "param_bytes_per_param": report.param_bytes / report.num_params,
        }
    rounds, per_round = (3, 3) if args.quick else (9, 10)
    for name, ratio in step_time_ratios(names, rounds, per_round).items():
        results["rows"][name]["step_time_ratio"] = ratio
    base = results["rows"]["adam float32"]["state_bytes_per_param"]
    for name in names:
        row = results["rows"][name]
        row["state_vs_adam_float32"] = row["state_bytes_per_param"] / base
        print(
            f"{name:38s} state {row['state_bytes_per_param']:6.3f} B/param "
            f"({row['state_vs_adam_float32']:6.1%})  step x{row['step_time_ratio']:.2f}",
            flush=True,
        )

    seeds = [0] if args.quick else [0, 1, 2]
    for name in ("adam float32", "adam 8-bit (quantized_state)", "bf16 params + master_weights(adam)"):
        make, dtype = options()[name]
        accuracies = [digits_accuracy(make(), seed, param_dtype=dtype) for seed in seeds]
        results["accuracy"][name] = {
            "seeds": seeds,
            "test_accuracy": accuracies,
            "mean": float(np.mean(accuracies)),
        }
        print(f"digits {name:38s} {np.mean(accuracies):.2%}  {accuracies}", flush=True)

    os.makedirs(RESULTS, exist_ok=True)
    stem = os.path.join(RESULTS, "memory-quick" if args.quick else "memory")
    with open(stem + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(stem + ".md", "w") as f:
        f.write(markdown(results))
    print(f"wrote {stem}.json and .md")
    return results


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Optimizer-state memory and step time (`python -m benchmarks.memory`)",
        "",
        f"{m['date']}; {m['backend']} ({m['device_kind']}), {m['cpu_count']} cores, "
        f"load {m['load_average']}; "
        f"jax {m['jax']}, optax {m['optax']}, flax {m['flax']}.",
        "",
        "State bytes per parameter from `gdx.memory_report` on a GPT-2-small-sized tree (124M params);",
        "step time relative to float32 Adam on a 4M-param tree (update + apply_updates, jitted, donated,",
        "interleaved rounds, median).",
        "",
        "| option | param bytes/param | state bytes/param | state vs adam f32 | step time vs adam f32 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, row in results["rows"].items():
        lines.append(
            f"| {name} | {row['param_bytes_per_param']:.0f} | {row['state_bytes_per_param']:.3f} | "
            f"{row['state_vs_adam_float32']:.1%} | {row['step_time_ratio']:.2f}x |"
        )
    lines += [
        "",
        "Digits MLP 64-256-256-10, Adam lr 1e-3, 600 steps of batch 128, test accuracy:",
        "",
        "| option | seeds | test accuracy | mean |",
        "| --- | --- | --- | ---: |",
    ]
    for name, row in results["accuracy"].items():
        accs = ", ".join(f"{a:.2%}" for a in row["test_accuracy"])
        lines.append(f"| {name} | {row['seeds']} | {accs} | {row['mean']:.2%} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
