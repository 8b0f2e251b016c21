"""gdx's private home for the helpers every transformation shares (imports only `gdx.core`, jax and numpy).

- `dtypes`: promotion and casting, and the one arithmetic language `promoted(op, ...)`;
- `tree_math`: arithmetic, reductions and norms on pytrees (one optax-ordered left-to-right sum);
- `norms`: floored norms with a finite gradient at zero (`safe_norm`, ...);
- `moments`: moving averages, bias correction, `decay**count`, divide-by-root, step counters;
- `checks`: hyperparameter validators, structure checks, and `called_as` (the caller's name in errors).

Public faces (`gdx.tree`, `gdx.tree_utils`, `gdx.tree_math`, `gdx.numerics`, ...) re-export these objects.
"""
