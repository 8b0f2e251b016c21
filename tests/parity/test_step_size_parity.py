"""scale_by_distance_over_gradients against optax (params after every step, final state)."""

import jax.numpy as jnp

from tests.parity.harness import check_transform, make_params


def params_without_scalar(*, bfloat16=True):
    params = make_params(0, bfloat16=bfloat16)
    del params["scale"]
    return params


# optax's DoG turns a 0-d leaf's update into shape (1,), and changes a bfloat16 leaf's state
# dtype at the first step unless param_dtype is bfloat16 too: both are avoided here.
def test_scale_by_distance_over_gradients():
    check_transform(
        "scale_by_distance_over_gradients",
        {},
        100,
        step_size=-1.0,
        params=params_without_scalar(bfloat16=False),
    )


def test_scale_by_distance_over_gradients_bfloat16_state_and_global_scale():
    kwargs = dict(reps_rel=1e-4, eps=1e-6, param_dtype=jnp.bfloat16, global_scale=-0.5)
    check_transform(
        "scale_by_distance_over_gradients", kwargs, 30, step_size=1.0, params=params_without_scalar()
    )
