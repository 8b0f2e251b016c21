"""The demos behind `python -m gdx`: gdx next to optax on scikit-learn's digits.

- `gdx.demo.digits`: a Flax NNX MLP trained with
  `chain(clip_by_global_norm, adamw(warmup_cosine_decay_schedule))`, once with gdx
  and once with optax from the same init and the same mini-batches
  (`python -m gdx demo`).
- `gdx.demo.console`: progress bars and tables (rich if installed, else plain text).
- `gdx.demo.plots`: the demo's PNG plots.
- `gdx.demo.compare`: several named optimizers, gdx vs optax, on a plain-JAX
  MLP (`python -m gdx compare`).
- `gdx.demo.data`: the digits split and the mini-batch order both use.

These modules import the `demo` extra (flax, optax, scikit-learn, matplotlib,
rich: `pip install "gdx[demo]"`) at the top; `gdx.cli` imports them only when a
command runs, so `import gdx` never needs them.
"""
