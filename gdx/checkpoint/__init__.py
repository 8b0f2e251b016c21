"""Checkpoints of params + optimizer state that resume bit-identically.

Two backends, one format: `save`/`restore` write one `numpy.savez` file,
`save_orbax`/`restore_orbax` an orbax-checkpoint directory (optional extra:
`pip install "gdx[checkpoint]"`). The optimizer state keeps optax's layout;
what gdx adds lives in the metadata beside it: a schema version, the gdx
version, the optimizer's name and hyperparameters (an `OptimizerSpec`) and the
step. Usage::

    spec = gdx.checkpoint.OptimizerSpec("adamw", learning_rate=1e-3, weight_decay=0.01)
    tx = spec.build()
    ...
    gdx.checkpoint.save("ckpt.npz", params, opt_state, spec=spec)
    # later, in a fresh process:
    tx = spec.build()
    like_params = init_model()
    params, opt_state, metadata, _ = gdx.checkpoint.restore(
        "ckpt.npz", like_params, tx.init(like_params), expected_spec=spec
    )

Composed optimizers are specs of specs (see `OptimizerSpec`): `chain`,
`MultiSteps`, `partition` (its `(regex, label)` rules are kept) and
`inject_hyperparams(OptimizerSpec("adamw", learning_rate=...))`; the step is
found at any depth. A Flax NNX model with its `nnx.Optimizer` (whose `step`
counts `optimizer.update` calls) saves its `nnx.state` trees::

    model = Model(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, spec.build(), wrt=nnx.Param)
    ...  # train
    gdx.checkpoint.save("ckpt.npz", nnx.state(model), nnx.state(optimizer), spec=spec)
    # later: a fresh model and optimizer give the structure to restore into
    model = Model(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, spec.build(), wrt=nnx.Param)
    restored = gdx.checkpoint.restore("ckpt.npz", nnx.state(model), nnx.state(optimizer), expected_spec=spec)
    nnx.update(model, restored.params)
    nnx.update(optimizer, restored.opt_state)  # opt_state and optimizer.step
    ...  # training goes on bit-identically

A truncated or corrupted file raises `ValueError` naming the file and the
damage. A restore into a changed param tree raises a `ValueError` listing every
differing path; `restore_partial` (from a file) and `grow_state` (in memory)
keep the saved leaves and initialize the new ones with `tx.init`. Old
checkpoints are upgraded by the functions in `MIGRATIONS` (schema version ->
`fn(metadata, arrays) -> (metadata, arrays)`).
"""

from gdx.checkpoint._format import MIGRATIONS as MIGRATIONS
from gdx.checkpoint._format import SCHEMA_VERSION as SCHEMA_VERSION
from gdx.checkpoint._format import TreeDiff as TreeDiff
from gdx.checkpoint._format import grow_state as grow_state
from gdx.checkpoint._io import Restored as Restored
from gdx.checkpoint._io import read_metadata as read_metadata
from gdx.checkpoint._io import restore as restore
from gdx.checkpoint._io import restore_orbax as restore_orbax
from gdx.checkpoint._io import restore_partial as restore_partial
from gdx.checkpoint._io import save as save
from gdx.checkpoint._io import save_orbax as save_orbax
from gdx.checkpoint._spec import OptimizerSpec as OptimizerSpec
from gdx.checkpoint._spec import spec_differences as spec_differences
