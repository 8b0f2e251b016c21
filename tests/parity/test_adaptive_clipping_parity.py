"""adaptive_grad_clip and clip_by_block_rms against optax (params after every step, final state)."""

import optax
import pytest

import gdx
from tests.parity.harness import assert_parity


def both(name, *args, **kwargs):
    return getattr(gdx, name)(*args, **kwargs), getattr(optax, name)(*args, **kwargs)


def check_transform(name, kwargs, steps, step_size=-0.05, **parity):
    ours, theirs = both(name, **kwargs)
    assert_parity(
        gdx.chain(ours, gdx.scale(step_size)),
        optax.chain(theirs, optax.scale(step_size)),
        steps=steps,
        **parity,
    )


TRANSFORM_CASES = [
    ("adaptive_grad_clip", dict(clipping=0.1), 100),
    ("clip_by_block_rms", dict(threshold=0.5), 100),
]


@pytest.mark.parametrize(
    "name, kwargs, steps",
    TRANSFORM_CASES,
    ids=[f"{name}-{'-'.join(kwargs) or 'defaults'}" for name, kwargs, _ in TRANSFORM_CASES],
)
def test_transform(name, kwargs, steps):
    check_transform(name, kwargs, steps)
