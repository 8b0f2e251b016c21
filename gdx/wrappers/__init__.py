"""gdx.wrappers: see the modules of this package."""
