"""scale_by_trust_ratio against optax (params after every step, final state)."""

import optax

import gdx
from tests.parity.harness import assert_parity


def test_scale_by_trust_ratio():
    assert_parity(gdx.scale_by_trust_ratio(), optax.scale_by_trust_ratio(), steps=100)


def test_scale_by_trust_ratio_non_default():
    kwargs = dict(min_norm=0.5, trust_coefficient=0.1, eps=1e-3)
    assert_parity(gdx.scale_by_trust_ratio(**kwargs), optax.scale_by_trust_ratio(**kwargs), steps=30)
