"""One of the two processes of `test_multiprocess.py` (also imported by it for the model and data).

Run as `python multiprocess_worker.py PORT PROCESS_ID OUTPUT.npz`: joins a
2-process JAX cluster on localhost (CPU collectives over gloo), trains a few
data-parallel steps of `gdx.adamw` on its half of a global batch under
`jax.jit`, and saves its final params.
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np

import gdx

STEPS = 3
GLOBAL_BATCH = 8


def make_params():
    rng = np.random.default_rng(0)
    return {"w": rng.normal(size=(4, 3)).astype(np.float32), "b": np.zeros(3, np.float32)}


def make_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(STEPS, GLOBAL_BATCH, 4)).astype(np.float32)
    y = rng.normal(size=(STEPS, GLOBAL_BATCH, 3)).astype(np.float32)
    return x, y


def loss(params, x, y):
    return jnp.mean((jnp.tanh(x @ params["w"]) + params["b"][None, :] - y) ** 2)


def make_optimizer():
    return gdx.adamw(0.05)


def step(params, state, x, y):
    updates, state = make_optimizer().update(jax.grad(loss)(params, x, y), state, params)
    return gdx.apply_updates(params, updates), state


def main(port: int, process_id: int, output: str) -> None:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=process_id
    )
    assert jax.process_count() == 2 and jax.device_count() == 2, (jax.process_count(), jax.devices())
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = jax.make_mesh((2,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    replicated, split = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
    half = slice(process_id * GLOBAL_BATCH // 2, (process_id + 1) * GLOBAL_BATCH // 2)

    params = jax.tree.map(lambda a: jax.make_array_from_process_local_data(replicated, a), make_params())
    state = jax.jit(make_optimizer().init, out_shardings=replicated)(params)
    train_step = jax.jit(step, out_shardings=(replicated, replicated))
    xs, ys = make_data()
    for x, y in zip(xs, ys):  # each process feeds only its half of the global batch
        x = jax.make_array_from_process_local_data(split, x[half], (GLOBAL_BATCH, 4))
        y = jax.make_array_from_process_local_data(split, y[half], (GLOBAL_BATCH, 3))
        params, state = train_step(params, state, x, y)
    local = {name: np.asarray(leaf.addressable_data(0)) for name, leaf in params.items()}
    np.savez(output, w=local["w"], b=local["b"])
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
