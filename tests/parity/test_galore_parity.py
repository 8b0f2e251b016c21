"""`gdx.galore` against `optax.contrib.galore` 0.2.8 (params after every step, final state)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
import optax.contrib

import gdx
from tests.parity.harness import assert_parity


def schedule(count):
    return 0.02 / (1.0 + 0.01 * count.astype(jnp.float32))


# Both sides take the same jnp.linalg.svd of the same float32 matrix, so the projectors (signs
# included) agree and the default float32 tolerances hold; no sign-invariant comparison is needed.


def test_galore_matches_optax():
    # Small rank and gap, so projection (rank < min(m, n)) and refreshes both happen.
    assert_parity(
        gdx.galore(0.01, rank=2, update_proj_gap=7),
        optax.contrib.galore(0.01, rank=2, update_proj_gap=7),
        steps=30,
    )


def test_galore_non_defaults_match_optax():
    # A 3-D leaf projected as a (2*3) x 4 matrix, a right projector (3 x 5 -> 5 x 2), Lion as base,
    # masked weight decay, a schedule.
    dims = {
        "dense": {"kernel": gdx.GaLoreDimensionNumbers(), "bias": None},
        "conv": (gdx.GaLoreDimensionNumbers(reduction_axis=(0, 1), output_axis=2),),
        "scale": None,
        "matrix": gdx.GaLoreDimensionNumbers(reduction_axis=1, output_axis=0),
        "embedding": None,
    }
    optax_dims = jax.tree.map(
        lambda d: optax.contrib.GaLoreDimensionNumbers(*d),
        dims,
        is_leaf=lambda d: isinstance(d, tuple) and hasattr(d, "_fields"),
    )
    mask = lambda params: jax.tree.map(lambda p: p.ndim > 1, params)  # noqa: E731
    common: dict[str, Any] = dict(rank=3, update_proj_gap=4, scale=0.5, weight_decay=1e-2, mask=mask)
    assert_parity(
        gdx.galore(
            schedule, base_optimizer=gdx.scale_by_lion(b1=0.8), weight_dimension_numbers=dims, **common
        ),
        optax.contrib.galore(
            schedule,
            base_optimizer=optax.scale_by_lion(b1=0.8),
            weight_dimension_numbers=optax_dims,
            **common,
        ),
        steps=20,
    )


def test_scale_by_galore_matches_optax():
    # The projected Adam update, before the learning rate; small rank and gap as above.
    assert_parity(
        gdx.chain(gdx.contrib.scale_by_galore(rank=2, update_proj_gap=7, scale=0.5), gdx.scale(-0.01)),
        optax.chain(optax.contrib.scale_by_galore(rank=2, update_proj_gap=7, scale=0.5), optax.scale(-0.01)),
        steps=30,
    )
