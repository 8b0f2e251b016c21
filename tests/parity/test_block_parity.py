"""scale_by_param_block_norm and scale_by_param_block_rms against optax (params every step, final state)."""

from tests.parity.harness import transform_tests

TRANSFORM_CASES = [
    ("scale_by_param_block_norm", {}, 100),
    ("scale_by_param_block_rms", {}, 100),
]


test_transform = transform_tests(TRANSFORM_CASES)
