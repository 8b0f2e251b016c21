"""Data-parallel and sharded training with gdx optimizers.

- `average_gradients(axis_name)`: a stateless transformation that applies `lax.pmean` to the
  updates over a named axis (`jax.pmap`, `jax.shard_map`); put it at the head of a chain.
- `state_sharding(tx, params)` / `init_sharded(tx, params)`: the optimizer state
  laid out like the params (moments follow their param, counters replicated),
  built directly sharded under `jax.jit`.
- `shard_optimizer_state(tx, mesh, axis)`: ZeRO stage 1, each device of the
  data axis keeps and updates only its slice of the optimizer state.
- `bytes_per_device(tree)`: bytes of a tree of arrays held on one device.
"""

from gdx.distributed.collectives import average_gradients as average_gradients
from gdx.distributed.sharding import bytes_per_device as bytes_per_device
from gdx.distributed.sharding import init_sharded as init_sharded
from gdx.distributed.sharding import state_sharding as state_sharding
from gdx.distributed.zero import shard_optimizer_state as shard_optimizer_state
from gdx.distributed.zero import zero_partition_spec as zero_partition_spec
