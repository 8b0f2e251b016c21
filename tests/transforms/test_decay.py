"""`add_decayed_weights` and `scale_by_trust_ratio` need params and say so, alone and inside lars/lamb."""

import pytest

import gdx
from tests.transforms.toy import GRADS, PARAMS

# --- params are required where they are used ------------------------------------------------


@pytest.mark.parametrize(
    "name, tx",
    [
        ("add_decayed_weights", gdx.add_decayed_weights(0.1)),
        ("add_decayed_weights", gdx.add_decayed_weights(0.1, mask={"w": True, "b": False})),
        ("scale_by_trust_ratio", gdx.scale_by_trust_ratio()),
        ("add_decayed_weights", gdx.lars(0.1)),  # its first member, even at weight_decay=0
        ("add_decayed_weights", gdx.lamb(0.1, weight_decay=0.1)),
    ],
)
def test_missing_params_raise_naming_the_transform(name, tx):
    with pytest.raises(ValueError, match=f"{name} needs params"):
        tx.update(GRADS, tx.init(PARAMS))
