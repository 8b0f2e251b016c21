"""lamb and lars against optax (params after every step, final state)."""

from tests.parity.harness import MASK, check_named, decaying_from, make_params, not_a_vector

decaying = decaying_from(0.1)


def test_lamb():
    check_named("lamb", 1e-2)


def test_lamb_non_default():
    check_named("lamb", 3e-3, b1=0.8, b2=0.99, eps=1e-4, eps_root=1e-8, weight_decay=0.1, mask=MASK, steps=50)


def test_lamb_schedule():
    check_named("lamb", decaying, weight_decay=0.01, steps=50)


def test_lars():
    check_named("lars", 0.5)


def test_lars_with_masks():
    check_named(
        "lars",
        0.5,
        weight_decay=0.01,
        weight_decay_mask=MASK,
        trust_coefficient=0.01,
        eps=1e-6,
        trust_ratio_mask=not_a_vector,
        momentum=0.8,
        nesterov=True,
        steps=50,
    )


def test_lars_schedule():
    check_named("lars", decaying, weight_decay=0.01, steps=50)


def test_lars_weight_decay_schedule():
    # float32 params only: optax's scheduled weight decay turns a bfloat16 leaf's
    # update into float32, and its trace state then changes dtype between steps,
    # which lax.scan rejects. gdx keeps both bfloat16 (tests/transforms).
    check_named("lars", 0.5, weight_decay=decaying, steps=50, params=make_params(0, bfloat16=False))
