"""The ports run public training code unchanged, and that code broadcasts by numpy's rules.

The suite raises on implicit rank promotion (tests/conftest.py) to catch it in gdx's
own code, which the rest of the suite exercises. A port reproduces a user's model
(`x @ kernel + bias`, ...) and must run as its authors wrote it, with optax and with
gdx, so implicit rank promotion is allowed here.
"""

import jax
import pytest


@pytest.fixture(autouse=True)
def _user_code_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield
