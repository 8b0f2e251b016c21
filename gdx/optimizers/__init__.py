"""gdx.optimizers: see the modules of this package."""
