"""Data-parallel training four ways on 8 (fake CPU) devices, all giving the same numbers.

A small MLP regression trained with `gdx.adamw`, each global batch split over
8 devices:

1. `jax.pmap`: each device differentiates its shard of the batch,
   `gdx.distributed.average_gradients("batch")` at the head of the chain
   averages the gradients (a `pmean`), every device keeps a full copy of
   params and optimizer state.
2. `jax.jit` + sharding: the params are split over the devices, the state is
   created directly in their layout with `gdx.distributed.init_sharded`; XLA
   inserts the collectives.
3. `jax.shard_map`: the pmap program written for a mesh: per-shard gradients,
   `average_gradients` inside, replicated params and state.
4. ZeRO-1 (`gdx.distributed.shard_optimizer_state`): params replicated, each
   device keeps and updates only 1/8 of the optimizer state.

All four end at the single-device run's params (to float32 rounding); the
script prints the final losses, the largest difference, and the optimizer
state bytes each device holds.

    python examples/data_parallel.py [--steps 20] [--hidden 64] [--batch 128]
"""

from __future__ import annotations

import os

if "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    ).strip()

import argparse  # noqa: E402
from typing import Any  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import gdx  # noqa: E402

DEVICES = 8


def make_problem(steps: int, hidden: int, batch: int, seed: int = 0):
    """Params of a 16 -> hidden -> 8 MLP and `steps` batches of a noisy random teacher."""
    k1, k2, k3, k4 = jax.random.split(jax.random.key(seed), 4)
    params = {
        "w1": jax.random.normal(k1, (16, hidden)) / 4.0,
        "b1": jnp.zeros(hidden),
        "w2": jax.random.normal(k2, (hidden, 8)) / jnp.sqrt(float(hidden)),
        "b2": jnp.zeros(8),
    }
    x = jax.random.normal(k3, (steps, batch, 16))
    teacher = jax.random.normal(k4, (16, 8)) / 4.0
    y = jnp.sin(x @ teacher)
    return params, (x, y)


def loss_fn(params, batch):
    x, y = batch
    hidden = jax.nn.gelu(x @ params["w1"] + params["b1"])
    return jnp.mean((hidden @ params["w2"] + params["b2"] - y) ** 2)


def make_step(tx):
    def step(params, state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, state = tx.update(grads, state, params)
        return gdx.apply_updates(params, updates), state, loss

    return step


def train_single_device(tx, params, data):
    step = jax.jit(make_step(tx))
    state = tx.init(params)
    for batch in zip(*data):
        params, state, loss = step(params, state, batch)
    return params, state, loss


def train_pmap(tx, params, data):
    dp_tx = gdx.chain(gdx.distributed.average_gradients("batch"), tx)
    step = jax.pmap(make_step(dp_tx), axis_name="batch")
    params = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, (DEVICES, *leaf.shape)), params)
    state = jax.pmap(dp_tx.init)(params)
    for x, y in zip(*data):  # (batch, ...) -> (devices, batch / devices, ...)
        shards = (x.reshape(DEVICES, -1, *x.shape[1:]), y.reshape(DEVICES, -1, *y.shape[1:]))
        params, state, loss = step(params, state, shards)
    # The loss is this device's shard's; average for the full-batch number.
    return jax.tree.map(lambda leaf: leaf[0], params), state, jnp.mean(loss)


def train_jit_sharded(tx, params, data, mesh):
    specs = {"w1": P(None, "data"), "b1": P("data"), "w2": P("data", None), "b2": P()}
    params = {name: jax.device_put(value, NamedSharding(mesh, specs[name])) for name, value in params.items()}
    state = gdx.distributed.init_sharded(tx, params)  # mu/nu split like w1, b1, w2
    step = jax.jit(make_step(tx))
    batch_sharding = NamedSharding(mesh, P("data"))
    for batch in zip(*data):
        params, state, loss = step(params, state, jax.device_put(batch, batch_sharding))
    return params, state, loss


def train_shard_map(tx, params, data, mesh):
    dp_tx = gdx.chain(gdx.distributed.average_gradients("data"), tx)

    @jax.jit
    @jax.shard_map(mesh=mesh, in_specs=(P(), P(), P("data")), out_specs=(P(), P(), P()))
    def step(params, state, batch):
        # Differentiate this device's copy (pcast to "varying"): `grad` of a replicated input
        # inside shard_map would already psum over the shards.
        local_params = jax.lax.pcast(params, "data", to="varying")
        loss, grads = jax.value_and_grad(loss_fn)(local_params, batch)
        updates, state = dp_tx.update(grads, state, params)  # pmean first, then AdamW
        return gdx.apply_updates(params, updates), state, jax.lax.pmean(loss, "data")

    state = dp_tx.init(params)
    for batch in zip(*data):
        params, state, loss = step(params, state, batch)
    return params, state, loss


def train_zero1(tx, params, data, mesh):
    zero_tx = gdx.distributed.shard_optimizer_state(tx, mesh, "data")
    replicated = NamedSharding(mesh, P())
    params = jax.device_put(params, replicated)
    state = jax.jit(zero_tx.init)(params)  # each device allocates 1/8 of mu and nu
    step = jax.jit(make_step(zero_tx), out_shardings=(replicated, None, replicated))
    batch_sharding = NamedSharding(mesh, P("data"))
    for batch in zip(*data):
        params, state, loss = step(params, state, jax.device_put(batch, batch_sharding))
    return params, state, loss


def max_difference(a, b) -> float:
    return max(
        float(jnp.max(jnp.abs(jnp.asarray(x) - jnp.asarray(y))))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=64, help="hidden width (a multiple of 8 shards evenly)")
    parser.add_argument("--batch", type=int, default=128, help="global batch size (a multiple of 8)")
    parser.add_argument("--learning-rate", type=float, default=0.01)
    args = parser.parse_args(argv)
    if jax.device_count() < DEVICES:
        raise SystemExit(
            f"needs {DEVICES} devices, found {jax.device_count()} (set XLA_FLAGS before importing jax)"
        )

    tx = gdx.adamw(args.learning_rate)
    params, data = make_problem(args.steps, args.hidden, args.batch)
    mesh = jax.make_mesh((DEVICES,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    reference_params, reference_state, reference_loss = train_single_device(tx, params, data)
    runs = {
        "pmap": train_pmap(tx, params, data),
        "jit_sharded": train_jit_sharded(tx, params, data, mesh),
        "shard_map": train_shard_map(tx, params, data, mesh),
        "zero1": train_zero1(tx, params, data, mesh),
    }

    result: dict[str, Any] = {
        "single_device_loss": float(reference_loss),
        "single_device_state_bytes": gdx.distributed.bytes_per_device(reference_state),
        "losses": {},
        "max_param_difference": {},
        "state_bytes_per_device": {},
    }
    print(f"{'run':<14}{'final loss':>12}{'max |params - single device|':>31}{'state bytes / device':>22}")
    full_bytes = result["single_device_state_bytes"]
    print(f"{'single device':<14}{float(reference_loss):>12.6f}{0.0:>31.2e}{full_bytes:>22,}")
    for name, (final_params, state, loss) in runs.items():
        result["losses"][name] = float(loss)
        result["max_param_difference"][name] = max_difference(final_params, reference_params)
        result["state_bytes_per_device"][name] = gdx.distributed.bytes_per_device(state)
        print(
            f"{name:<14}{float(loss):>12.6f}{result['max_param_difference'][name]:>31.2e}"
            f"{result['state_bytes_per_device'][name]:>22,}"
        )
    return result


if __name__ == "__main__":
    main()
