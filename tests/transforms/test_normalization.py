"""Behaviour of normalize_by_update_norm beyond optax parity."""

import pytest

import gdx

# --- hyperparameter validation --------------------------------------------------------------------

BAD_CASES = [
    ("normalize_by_update_norm", dict(scale_factor=0.0), "scale_factor"),
    ("normalize_by_update_norm", dict(eps=-1.0), "eps"),
]


@pytest.mark.parametrize(
    "name, kwargs, argument", BAD_CASES, ids=[f"{n}-{a}={list(k.values())[-1]}" for n, k, a in BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_the_argument(name, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{name}: {argument} must be"):
        getattr(gdx, name)(**kwargs)
