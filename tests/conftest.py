"""Test-session setup: 8 fake CPU devices, strict dtype promotion and no rank promotion for gdx code.

The XLA flag must be set before jax initializes its backends, so it is set at
import time of this conftest (pytest imports it before any test module).
Rank promotion raises: gdx code must broadcast explicitly (`x[..., None]`,
`jnp.broadcast_to`), never by numpy's implicit rank promotion.
Reference optax calls run under 'standard' dtype promotion and 'allow' rank
promotion (optax fails under 'strict', e.g. on `b1**count`, and relies on
implicit rank promotion in places); use `tests.parity.harness.optax_promotion()`.
"""

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
