"""Runnable reductions of public training scripts that use optax, run once with optax and once with gdx."""
