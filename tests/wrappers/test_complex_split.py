"""`split_real_and_imaginary`: the inner optimizer on real and imaginary parts.

Jit once and dtypes kept: tests/optimizers/test_generic.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import gdx


def test_split_real_and_imaginary_is_the_inner_optimizer_on_real_and_imaginary_parts():
    z = jax.lax.complex(jnp.array([1.0, -2.0]), jnp.array([0.5, 3.0]))
    g = jax.lax.complex(jnp.array([0.1, 2.0]), jnp.array([-1.0, 0.3]))
    tx = gdx.split_real_and_imaginary(gdx.adam(0.1))
    updates, _ = tx.update({"z": g}, tx.init({"z": z}), {"z": z})
    reference = gdx.adam(0.1)
    split = {"z": (jnp.real(g), jnp.imag(g))}
    expected, _ = reference.update(split, reference.init(split))
    np.testing.assert_array_equal(jnp.real(updates["z"]), expected["z"][0])
    np.testing.assert_array_equal(jnp.imag(updates["z"]), expected["z"][1])
