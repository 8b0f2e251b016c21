"""`fuse` reads packability from the tag each transform records where it is defined.

`PACKABLE_BEFORE` is the string table `gdx/fused/_plan.py` held (by module and constructor)
before the tags replaced it: every one of these must still be planned as packable, and a
transform without a tag must still be rejected.
"""

import pytest

import gdx
from gdx.fused._plan import Packable, make_plan

PACKABLE_BEFORE = {
    "identity": lambda: gdx.identity(),
    "set_to_zero": lambda: gdx.set_to_zero(),
    "scale_by_adam": lambda: gdx.scale_by_adam(),
    "scale_by_amsgrad": lambda: gdx.scale_by_amsgrad(),
    "scale_by_adamax": lambda: gdx.scale_by_adamax(),
    "scale_by_belief": lambda: gdx.scale_by_belief(),
    "scale_by_yogi": lambda: gdx.scale_by_yogi(),
    "scale_by_radam": lambda: gdx.scale_by_radam(),
    "scale_by_adadelta": lambda: gdx.scale_by_adadelta(),
    "clip": lambda: gdx.clip(1.0),
    "clip_by_global_norm": lambda: gdx.clip_by_global_norm(1.0),
    "keep_params_nonnegative": lambda: gdx.keep_params_nonnegative(),
    "add_decayed_weights": lambda: gdx.add_decayed_weights(1e-4),
    "trace": lambda: gdx.trace(0.9),
    "trace_nesterov": lambda: gdx.trace(0.9, nesterov=True),
    "ema": lambda: gdx.ema(0.9),
    "scale_by_rss": lambda: gdx.scale_by_rss(),
    "scale_by_rms": lambda: gdx.scale_by_rms(),
    "scale_by_stddev": lambda: gdx.scale_by_stddev(),
    "scale": lambda: gdx.scale(0.5),
    "scale_by_schedule": lambda: gdx.scale_by_schedule(lambda count: 0.5),
    "scale_by_learning_rate": lambda: gdx.scale_by_learning_rate(0.1),
    "scale_by_lion": lambda: gdx.scale_by_lion(),
    "scale_by_sign": lambda: gdx.scale_by_sign(),
    "scale_by_rprop": lambda: gdx.scale_by_rprop(learning_rate=0.1),
}


@pytest.mark.parametrize("name", sorted(PACKABLE_BEFORE))
def test_every_formerly_packable_transform_is_still_packable(name):
    tx = PACKABLE_BEFORE[name]()
    assert isinstance(make_plan(tx, []), Packable)


def test_the_tag_is_recorded_where_the_transform_is_defined():
    kind, _ = gdx.scale_by_adam().update._gdx_structure  # type: ignore[attr-defined]
    assert kind == "elementwise"


@pytest.mark.parametrize("build", [lambda: gdx.scale_by_factored_rms(), lambda: gdx.scale_by_novograd()])
def test_an_untagged_transform_is_still_rejected(build):
    with pytest.raises(TypeError, match="cannot run the member"):
        make_plan(build(), [])
