"""A plain-jax MLP on dict params shared by the ports that reduce a big model to a tiny one."""

import jax
import jax.numpy as jnp


def init_mlp(seed: int, hidden: int = 32, dtype=jnp.float32) -> dict:
    keys = jax.random.split(jax.random.key(seed), 2)
    return {
        "dense_0": {
            "kernel": (0.1 * jax.random.normal(keys[0], (64, hidden))).astype(dtype),
            "bias": jnp.zeros((hidden,), dtype),
        },
        "layernorm": {"weight": jnp.ones((hidden,), dtype)},
        "dense_1": {
            "kernel": (0.1 * jax.random.normal(keys[1], (hidden, 10))).astype(dtype),
            "bias": jnp.zeros((10,), dtype),
        },
    }


def apply_mlp(params: dict, x: jax.Array) -> jax.Array:
    h = jax.nn.gelu(x.astype(params["dense_0"]["kernel"].dtype) @ params["dense_0"]["kernel"])
    h = (h + params["dense_0"]["bias"]) * params["layernorm"]["weight"]
    return (h @ params["dense_1"]["kernel"] + params["dense_1"]["bias"]).astype(jnp.float32)
