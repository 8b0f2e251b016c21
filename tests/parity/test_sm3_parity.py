"""SM3 and scale_by_sm3 against optax (params after every step, final state)."""

import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, both, check_transform, make_params


def params_without_scalar(*, bfloat16=True):
    params = make_params(0, bfloat16=bfloat16)
    del params["scale"]
    return params


# optax's SM3 raises on 0-d leaves (gdx handles them: tests/optimizers/test_sm3.py).
def test_scale_by_sm3():
    check_transform("scale_by_sm3", {}, 100, params=params_without_scalar())


def test_scale_by_sm3_and_adaptive_grad_clip_with_axis():
    # optax needs `axis` to exist in every leaf, so no 0-d leaf here either.
    assert_parity(
        gdx.chain(
            gdx.adaptive_grad_clip(0.2, axis=-1),
            gdx.scale_by_sm3(b1=0.5, b2=0.99, eps=1e-6),
            gdx.scale(-0.05),
        ),
        optax.chain(
            optax.adaptive_grad_clip(0.2, axis=-1),
            optax.scale_by_sm3(b1=0.5, b2=0.99, eps=1e-6),
            optax.scale(-0.05),
        ),
        steps=30,
        params=params_without_scalar(),
    )


@pytest.mark.parametrize(
    "kwargs, steps",
    [(dict(learning_rate=1e-2), 100), (dict(learning_rate=0.1, momentum=0.5), 30)],
    ids=["default", "momentum"],
)
def test_sm3(kwargs, steps):
    # optax's sm3 takes no schedule and no 0-d leaf; gdx takes both (behaviour tests).
    assert_parity(*both("sm3", **kwargs), steps=steps, params=params_without_scalar())
