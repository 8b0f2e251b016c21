"""adaptive_grad_clip and clip_by_block_rms against optax (params after every step, final state)."""

from tests.parity.harness import transform_tests

TRANSFORM_CASES = [
    ("adaptive_grad_clip", dict(clipping=0.1), 100),
    ("clip_by_block_rms", dict(threshold=0.5), 100),
]


test_transform = transform_tests(TRANSFORM_CASES)
