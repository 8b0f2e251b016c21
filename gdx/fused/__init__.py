"""Execution engines for trees with many leaves: `fuse` (packed buffers); flat-params mode is `gdx.flat`.

`gdx.fused.flat` is the same module as `gdx.flat` (gdx/flat.py), kept for code that reached
it through this package.
"""

from gdx import flat as flat
from gdx.fused.packed import FusedState as FusedState
from gdx.fused.packed import fuse as fuse
from gdx.fused.packed import fuse_state_pack as fuse_state_pack
from gdx.fused.packed import fuse_state_view as fuse_state_view
