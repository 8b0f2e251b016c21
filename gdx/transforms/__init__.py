"""gdx.transforms: see the modules of this package."""
