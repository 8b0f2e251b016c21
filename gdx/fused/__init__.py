"""Execution engines for trees with many leaves: `fuse` (packed buffers) and flat-params mode."""
