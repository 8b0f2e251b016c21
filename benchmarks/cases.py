"""What the benchmark measures: tree shapes, optimizers, implementations and train steps.

Every step function built here is jitted with `donate_argnums` on params and
optimizer state (DESIGN.md: every step we show or benchmark donates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gdx

# (leaves, elements per leaf) of the optimizer-update cases; float32.
SHAPES_FULL = [(10, 2_000_000), (200, 100_000), (2000, 1_000), (5000, 200)]
SHAPES_QUICK = [(10, 2_000_000), (200, 100_000), (2000, 1_000)]
SHAPES_SMOKE = [(20, 50)]

# Bytes moved per param by one optimizer step at the bandwidth floor (float32):
# adam reads p, g, m, v and writes p, m, v (7 x 4 B); the chain and lamb also read
# g (global norm) or p and the update (trust-ratio norms) once more.
FLOOR_BYTES_PER_PARAM = {"adam": 28, "chain": 32, "lamb": 36}

OPTIMIZERS = ("adam", "chain", "lamb")

# Recorded by hand in issue 4 (2-core CPU, jax 0.10, optax 0.2.8); skipped by default.
RECORDED_SLOW = {("optax", "chain", 5000, 200): "825-918 s (recorded in issue 4, skipped by default)"}


def make_optimizer(lib: Any, name: str) -> Any:
    """`lib.adam`, `lib.chain(clip_by_global_norm(1.0), adamw(warmup_cosine))` or `lib.lamb`.

    For gdx the chain's clip uses `single_factor=True`.
    """
    if name == "adam":
        return lib.adam(1e-3)
    if name == "chain":
        schedule = lib.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 10_000)
        # gdx's opt-in single-factor clip (within 2 ulps of optax's; its docstring says
        # why it is faster on CPU); the default is bit-identical to optax and as fast.
        options = {"single_factor": True} if lib is gdx else {}
        clip = lib.clip_by_global_norm(1.0, **options)
        return lib.chain(clip, lib.adamw(schedule, weight_decay=1e-4))
    if name == "lamb":
        return lib.lamb(1e-3)
    raise ValueError(f"unknown optimizer {name!r}")


# A second, independent copy of optax's case (its own process): its ratio to optax is the
# A/A noise level of the run, 1.00 within the spread when the runner has no order bias.
AA = "optax (A/A)"


def implementations(name: str) -> list[str]:
    """The implementations compared for an optimizer: optax, its A/A copy, then gdx's."""
    impls = ["optax", AA, "gdx"]
    if hasattr(gdx, "fuse"):
        impls.append("fuse")
    if name != "lamb":  # per-leaf trust ratios: flat mode rejects lamb (use fuse)
        impls.append("flat")
    return impls


def make_tree(leaves: int, size: int, seed: int = 0) -> dict[str, jax.Array]:
    """`leaves` float32 vectors of `size` elements, keyed so tree order is numeric order."""
    rng = np.random.default_rng(seed)
    return {f"p{i:05d}": jnp.asarray(rng.standard_normal(size, dtype=np.float32)) for i in range(leaves)}


def transformer_shapes(blocks: int = 12, width: int = 128, vocab: int = 1000) -> Any:
    """Param shapes of a Flax Linen transformer (attention + MLP + LayerNorm x `blocks`), via eval_shape."""
    import flax.linen as nn

    class Block(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = x + nn.MultiHeadDotProductAttention(num_heads=4)(nn.LayerNorm()(x))
            h = nn.Dense(4 * width)(nn.LayerNorm()(x))
            return x + nn.Dense(width)(nn.gelu(h))

    class Transformer(nn.Module):
        @nn.compact
        def __call__(self, tokens):
            x = nn.Embed(vocab, width)(tokens)
            for _ in range(blocks):
                x = Block()(x)
            return nn.Dense(vocab)(nn.LayerNorm()(x))

    tokens = jax.ShapeDtypeStruct((1, 16), jnp.int32)
    return jax.eval_shape(Transformer().init, jax.random.key(0), tokens)["params"]


def tree_from_shapes(shapes: Any, seed: int = 0) -> Any:
    """Random float32 params with the shapes of a `jax.eval_shape` tree."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: jnp.asarray(0.02 * rng.standard_normal(s.shape, dtype=np.float32)), shapes)


@dataclass
class Case:
    """One implementation of one case: a donated jitted step and how to feed it."""

    fn: Callable[..., Any]  # jitted; fn(*carry, *const) -> new carry (+ extras)
    carry: tuple  # donated inputs (params, state), replaced by the outputs each step
    const: tuple  # not donated (grads, batch, unravel)
    n_carry: int = 2


def make_params(tree: tuple) -> Any:
    """`("leaves", n, size)` -> `make_tree(n, size)`; `("ones", n, size)`: constant leaves built on
    the device; `("transformer", blocks, width)` -> its params."""
    if tree[0] == "leaves":
        return make_tree(tree[1], tree[2])
    if tree[0] == "ones":  # built on the device: 1B params without a host round trip
        return {f"p{i:05d}": jnp.full((tree[2],), 0.5 + i / tree[1], jnp.float32) for i in range(tree[1])}
    if tree[0] == "transformer":
        return tree_from_shapes(transformer_shapes(tree[1], tree[2]))
    raise ValueError(f"unknown tree {tree!r}")


def update_case(impl: str, opt: str, tree: tuple) -> Case:
    """`optimizer_case` on `make_params(tree)`: what a fair-runner worker builds (picklable arguments)."""
    return optimizer_case(impl, opt, make_params(tree))


def optimizer_case(impl: str, opt: str, params: Any) -> Case:
    """A donated `(params, state, grads) -> (params, state)` step of `impl` on `params`."""
    grads = jax.tree.map(lambda p: jnp.full_like(p, 1e-3), params)
    if impl in ("optax", AA):
        tx, apply = make_optimizer(optax, opt), optax.apply_updates
    else:
        tx, apply = make_optimizer(gdx, opt), gdx.apply_updates
        if impl == "fuse":
            tx = gdx.fuse(tx)  # pyright: ignore[reportAttributeAccessIssue]
    if impl == "flat":
        params, _ = gdx.flat.ravel(params)
        grads, _ = gdx.flat.ravel(grads)
    params = jax.tree.map(jnp.copy, params)  # donation must not delete the caller's arrays

    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return apply(params, updates), state

    return Case(jax.jit(step, donate_argnums=(0, 1)), (params, tx.init(params)), (grads,))


def deep_model(layers: int, width: int = 32, seed: int = 0) -> tuple[dict[str, Any], Callable, jax.Array]:
    """A residual MLP stack with `2 * layers` leaves (kernel + bias), each used once."""
    rng = np.random.default_rng(seed)
    params = {
        f"layer{i:04d}": {
            "kernel": jnp.asarray(rng.standard_normal((width, width), dtype=np.float32) / (4 * width)),
            "bias": jnp.zeros((width,), jnp.float32),
        }
        for i in range(layers)
    }

    def loss_fn(params, x):
        for i in range(layers):
            layer = params[f"layer{i:04d}"]
            z = x @ layer["kernel"]
            x = x + jnp.tanh(z + jnp.broadcast_to(layer["bias"], z.shape))
        return jnp.mean(x * x)

    x = jnp.asarray(rng.standard_normal((64, width), dtype=np.float32))
    return params, loss_fn, x


def train_step_case(impl: str, opt: str, layers: int) -> Case:
    """A whole donated training step (forward + backward + optimizer) of `deep_model(layers)`."""
    params, loss_fn, x = deep_model(layers)
    if impl == "flat":
        flat, unravel = gdx.flat.ravel(params)
        tx = make_optimizer(gdx, opt)
        flat_step = gdx.flat.train_step(loss_fn, tx, unravel, check=False)  # lamb is not run in flat mode
        return Case(flat_step.jitted, (flat, tx.init(flat)), (unravel, x))
    lib = optax if impl in ("optax", AA) else gdx
    tx = make_optimizer(lib, opt)
    if impl == "fuse":
        tx = gdx.fuse(tx)  # pyright: ignore[reportAttributeAccessIssue]

    def step(params, state, x):
        loss, grads = jax.value_and_grad(loss_fn)(params, x)
        updates, state = tx.update(grads, state, params)
        return lib.apply_updates(params, updates), state, loss

    return Case(jax.jit(step, donate_argnums=(0, 1)), (params, tx.init(params)), (x,))


def copy_case(total: int) -> Case:
    """The bandwidth probe: a donated `x * 1.0001` over `total` float32 elements (reads + writes 8 B)."""
    x = jnp.ones((total,), jnp.float32)
    return Case(jax.jit(lambda x: x * jnp.float32(1.0001), donate_argnums=0), (x,), (), n_carry=1)
