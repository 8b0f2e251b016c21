"""gdx.microbatching: evaluate a function over micro-batches and accumulate (as `optax.microbatching`).

The memory-light gradient-accumulation pattern: `gdx.microbatch(jax.grad(loss),
argnums=1, microbatch_size=8, accumulator=gdx.microbatching.AccumulationType.MEAN)`
computes the mean gradient of a large batch 8 rows at a time.
"""

from gdx.microbatching._accumulators import AccumulationType as AccumulationType
from gdx.microbatching._accumulators import Accumulator as Accumulator
from gdx.microbatching._microbatch import micro_grad as micro_grad
from gdx.microbatching._microbatch import micro_vmap as micro_vmap
from gdx.microbatching._microbatch import microbatch as microbatch
from gdx.microbatching._microbatch import reshape_batch_axis as reshape_batch_axis
