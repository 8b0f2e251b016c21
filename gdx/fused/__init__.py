"""Execution engines for trees with many leaves: `fuse` (packed buffers) and flat-params mode."""

from gdx.fused.packed import FusedState as FusedState
from gdx.fused.packed import fuse as fuse
from gdx.fused.packed import fuse_state_pack as fuse_state_pack
from gdx.fused.packed import fuse_state_view as fuse_state_view
