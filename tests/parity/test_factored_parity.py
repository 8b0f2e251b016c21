"""scale_by_factored_rms, alone and chained with other transforms, against optax (params, state)."""

import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, transform_tests

TRANSFORM_CASES = [
    ("scale_by_factored_rms", {}, 100),
    ("scale_by_factored_rms", dict(min_dim_size_to_factor=2), 100),  # factors the 2-D and 3-D leaves
]


test_transform = transform_tests(TRANSFORM_CASES)


def capped_decay(step, decay_rate):
    return jnp.minimum(1.0 - (step.astype(jnp.float32) + 1.0) ** (-decay_rate), 0.9)


# Non-default hyperparameters, several transformations per case (one compilation per case).
VARIANT_CHAINS = {
    "factored-offset_block-norm_block-clip_agc-eps": [
        (
            "scale_by_factored_rms",
            dict(min_dim_size_to_factor=3, decay_rate=0.5, step_offset=2, epsilon=1e-20),
        ),
        ("clip_by_block_rms", dict(threshold=2.0)),
        ("adaptive_grad_clip", dict(clipping=0.5, eps=0.5)),
        ("scale_by_param_block_norm", dict(min_scale=2.0)),
    ],
    "unfactored-custom-decay_block-rms_normalize": [
        ("scale_by_factored_rms", dict(factored=False, decay_rate=0.9, decay_rate_fn=capped_decay)),
        ("scale_by_param_block_rms", dict(min_scale=1.0)),
        ("normalize_by_update_norm", dict(scale_factor=-0.5, eps=1e-3)),
    ],
}


@pytest.mark.parametrize("members", VARIANT_CHAINS.values(), ids=VARIANT_CHAINS.keys())
def test_transform_variants(members):
    ours = [getattr(gdx, name)(**kwargs) for name, kwargs in members]
    theirs = [getattr(optax, name)(**kwargs) for name, kwargs in members]
    assert_parity(gdx.chain(*ours, gdx.scale(-0.05)), optax.chain(*theirs, optax.scale(-0.05)), steps=30)
