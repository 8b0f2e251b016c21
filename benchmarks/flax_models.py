"""Whole training steps of real Flax models, gdx vs optax, on the fair runner (benchmarks/fair.py).

    python -m benchmarks.flax_models --quick    # make bench-flax-quick
    python -m benchmarks.flax_models --smoke    # seconds; run by tests/test_benchmarks_smoke.py

Models (parameters initialized by Flax, trained for real steps on a fixed synthetic batch):

- `lm`: a Flax NNX transformer LM (causal self-attention + MLP + LayerNorm per
  block, embedding, LayerNorm, vocabulary head), cross-entropy on next tokens;
- `deep`: a deep narrow NNX model: blocks of sub-layers, each a LayerNorm, an
  up and a down projection with biases and a residual (24 leaves per block),
  regression loss; about 1,150 leaves at 48 blocks;
- `resnet`: a Linen ResNet-style CNN with BatchNorm, trained through
  `flax.training.train_state.TrainState`; the batch statistics are a separate
  collection, updated from the model's `mutable` output and never optimized.

Optimizers: `adamw` (warmup-cosine schedule, weight decay 1e-4), `clip+adamw`
(`chain(clip_by_global_norm(1), adamw)`), `clip1+adamw` (the same with gdx's
`single_factor=True` clip, within 2 ulps of optax's), `inject+mask` (`inject_hyperparams(adamw)`
with weight decay masked to kernels, ndim > 1), `lamb`.

Implementations: `optax`, `optax (A/A)` (a second copy: the noise level), `gdx`
(`optax.` -> `gdx.`), `fuse` (`gdx.fuse(tx)` inside `nnx.Optimizer` / `TrainState`),
`flat` (`gdx.flat.ravel`: params as one buffer, the model sees `unravel(flat)`;
only for optimizers without per-leaf reductions or per-leaf masks: adamw, clip+adamw),
and `sgd floor` (the same step with `optax.sgd`: the model's own cost). The note column
gives each implementation's optimizer part (its time minus the sgd floor's) as a ratio to
optax's optimizer part, since the model's forward and backward pass is the same in all.

Every step is jitted with its params, optimizer state and batch statistics donated.
The losses of every step are compared with optax's: `loss_max_abs_diff`.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import gdx  # noqa: E402
from benchmarks import fair, report  # noqa: E402
from benchmarks.cases import AA, Case  # noqa: E402

OPTIMIZERS = ("adamw", "clip+adamw", "clip1+adamw", "inject+mask", "lamb")
FLAT_OPTIMIZERS = ("adamw", "clip+adamw", "clip1+adamw")  # no per-leaf reduction, no per-leaf mask
# The same step with optax.sgd, the cheapest optimizer: its compile and step time are the
# model's own (forward, backward, state plumbing), so `optimizer_part` can subtract them.
SGD_FLOOR = "sgd floor"
IMPLEMENTATIONS = ("optax", AA, "gdx", "fuse", "flat", SGD_FLOOR)

# Model sizes per mode. lm: (blocks, width, vocab, seq, batch); deep: (blocks, width, batch);
# resnet: (stage widths, blocks per stage, image size, batch).
SIZES: dict[str, dict[str, Any]] = {
    "full": dict(lm=(12, 256, 8192, 128, 4), deep=(48, 64, 32), resnet=((16, 32, 64), 2, 32, 32)),
    "quick": dict(lm=(12, 256, 8192, 128, 2), deep=(48, 64, 32), resnet=((16, 32, 64), 2, 16, 16)),
    "smoke": dict(lm=(1, 16, 64, 8, 2), deep=(2, 8, 4), resnet=((4, 8), 1, 8, 2)),
    "gpu": dict(lm=(12, 256, 8192, 128, 8), deep=(48, 64, 256), resnet=((16, 32, 64), 2, 32, 64)),
}
# Per mode: timed blocks, steps per block, compile deadline (s), optimizers per model.
RUNS: dict[str, dict[str, Any]] = {
    "full": dict(
        blocks=8, steps=3, limit=600.0, opts=dict(lm=OPTIMIZERS, deep=OPTIMIZERS, resnet=OPTIMIZERS)
    ),
    "quick": dict(
        blocks=5, steps=2, limit=300.0,
        # The target model first; each case compiled 100-225 s per implementation at load 11+.
        opts=dict(
            lm=("adamw",),
            deep=("adamw", "lamb", "clip+adamw", "clip1+adamw", "inject+mask"),
            resnet=("clip+adamw",),
        ),
    ),
    "gpu": dict(  # benchmarks/gpu.sh: a few minutes on one GPU
        blocks=5, steps=3, limit=120.0,
        # 2026-12-04, H200: the LM case took 90 s (5 compiles of 15-19 s); the deep model's
        # adamw case (5 implementations, compiled one by one) had not finished after 270 s.
        opts=dict(lm=("adamw",), deep=("adamw",), resnet=("clip+adamw",)),
    ),
    # One case per model, covering every implementation (flat, and fuse inside inject_hyperparams).
    "smoke": dict(
        blocks=2, steps=1, limit=600.0,
        opts=dict(lm=("adamw",), deep=("inject+mask",), resnet=("clip+adamw",)),
    ),
}  # fmt: skip


def make_optimizer(lib: Any, name: str) -> Any:
    """One of `OPTIMIZERS`, built from `lib` (optax or gdx) with the same arguments."""
    schedule = lib.warmup_cosine_decay_schedule(0.0, 1e-3, 10, 1000)
    if name == "adamw":
        return lib.adamw(schedule, weight_decay=1e-4)
    if name == "clip+adamw":
        return lib.chain(lib.clip_by_global_norm(1.0), lib.adamw(schedule, weight_decay=1e-4))
    if name == "clip1+adamw":  # gdx's single-factor clip (within 2 ulps of optax's; optax: its own)
        single = dict(single_factor=True) if lib is gdx else {}
        clip = lib.clip_by_global_norm(1.0, **single)
        return lib.chain(clip, lib.adamw(schedule, weight_decay=1e-4))
    if name == "inject+mask":
        decay_mask = lambda params: jax.tree.map(lambda p: p.ndim > 1, params)
        return lib.inject_hyperparams(lib.adamw)(learning_rate=schedule, weight_decay=1e-4, mask=decay_mask)
    if name == "lamb":
        return lib.lamb(1e-3)
    raise ValueError(f"unknown optimizer {name!r}")


def _tx(impl: str, opt: str) -> tuple[Any, Any]:
    """`(tx, lib)` of an implementation."""
    if impl in ("optax", AA):
        return make_optimizer(optax, opt), optax
    if impl == SGD_FLOOR:
        return optax.sgd(1e-3), optax
    if impl == "fuse" and opt == "inject+mask":
        # fuse does not run inject_hyperparams itself (it rejects it, naming the member);
        # fused inside it, the hyperparameters stay in the state as optax's do.
        schedule = gdx.warmup_cosine_decay_schedule(0.0, 1e-3, 10, 1000)
        decay_mask = lambda params: jax.tree.map(lambda p: p.ndim > 1, params)
        inner = lambda learning_rate, weight_decay: gdx.fuse(  # pyright: ignore[reportAttributeAccessIssue]
            gdx.adamw(learning_rate, weight_decay=weight_decay, mask=decay_mask)
        )
        return gdx.inject_hyperparams(inner)(learning_rate=schedule, weight_decay=1e-4), gdx
    tx = make_optimizer(gdx, opt)
    return (gdx.fuse(tx) if impl == "fuse" else tx), gdx  # pyright: ignore[reportAttributeAccessIssue]


# ---------------------------------------------------------------------------------------- NNX models


def _nnx_lm(blocks: int, width: int, vocab: int, seq: int) -> Any:
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self, rngs):
            self.ln1 = nnx.LayerNorm(width, rngs=rngs)
            self.attn = nnx.MultiHeadAttention(
                num_heads=4, in_features=width, decode=False, keep_rngs=False, rngs=rngs
            )
            self.ln2 = nnx.LayerNorm(width, rngs=rngs)
            self.up = nnx.Linear(width, 4 * width, rngs=rngs)
            self.down = nnx.Linear(4 * width, width, rngs=rngs)

        def __call__(self, x, mask):
            x = x + self.attn(self.ln1(x), mask=mask)
            return x + self.down(jax.nn.gelu(self.up(self.ln2(x))))

    class LM(nnx.Module):
        def __init__(self, rngs):
            self.embed = nnx.Embed(vocab, width, rngs=rngs)
            self.blocks = nnx.List([Block(rngs) for _ in range(blocks)])
            self.ln = nnx.LayerNorm(width, rngs=rngs)
            self.head = nnx.Linear(width, vocab, rngs=rngs)

        def __call__(self, tokens):
            x = self.embed(tokens)
            mask = nnx.make_causal_mask(tokens)
            for block in self.blocks:
                x = block(x, mask)
            return self.head(self.ln(x))

    return LM(nnx.Rngs(0))


def _nnx_deep(blocks: int, width: int) -> Any:
    from flax import nnx

    class SubLayer(nnx.Module):
        def __init__(self, rngs):
            self.ln = nnx.LayerNorm(width, rngs=rngs)
            self.up = nnx.Linear(width, 2 * width, rngs=rngs)
            self.down = nnx.Linear(2 * width, width, rngs=rngs)

        def __call__(self, x):
            return x + self.down(jax.nn.gelu(self.up(self.ln(x))))

    class Deep(nnx.Module):
        def __init__(self, rngs):
            self.layers = nnx.List([SubLayer(rngs) for _ in range(4 * blocks)])

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    return Deep(nnx.Rngs(0))


def _nnx_model_and_batch(model: str, size: tuple) -> tuple[Any, Callable, tuple]:
    """`(module, loss(module, *batch), batch)` of an NNX model."""
    rng = np.random.default_rng(0)
    if model == "lm":
        blocks, width, vocab, seq, batch = size
        module = _nnx_lm(blocks, width, vocab, seq)
        tokens = jnp.asarray(rng.integers(0, vocab, (batch, seq + 1)), jnp.int32)

        def lm_loss(m, tokens):
            logits = m(tokens[:, :-1])
            return optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:]).mean()

        return module, lm_loss, (tokens,)
    blocks, width, batch = size
    module = _nnx_deep(blocks, width)
    x = jnp.asarray(rng.standard_normal((batch, width), dtype=np.float32))
    y = jnp.asarray(rng.standard_normal((batch, width), dtype=np.float32))
    return module, (lambda m, x, y: jnp.mean((m(x) - y) ** 2)), (x, y)


def nnx_case(model: str, size: tuple, impl: str, opt: str) -> Case:
    """A donated whole training step of an NNX model through `nnx.Optimizer` (or flat mode)."""
    from flax import nnx

    module, loss, batch = _nnx_model_and_batch(model, tuple(size))
    if impl == "flat":
        graphdef, params, rest = nnx.split(module, nnx.Param, ...)
        flat, unravel = gdx.flat.ravel(params)
        tx = make_optimizer(gdx, opt)

        def flat_step(flat, opt_state, rest, unravel, *batch):
            def flat_loss(flat):
                return loss(nnx.merge(graphdef, unravel(flat), rest), *batch)

            value, grads = jax.value_and_grad(flat_loss)(flat)
            updates, opt_state = tx.update(grads, opt_state, flat)
            return gdx.apply_updates(flat, updates), opt_state, rest, value

        fn = jax.jit(flat_step, donate_argnums=(0, 1, 2))
        return _with_info(Case(fn, (flat, tx.init(flat), rest), (unravel, *batch), n_carry=3), params)
    tx, _ = _tx(impl, opt)
    optimizer = nnx.Optimizer(module, tx, wrt=nnx.Param)
    graphdef, state = nnx.split((module, optimizer))

    def step(state, *batch):
        module, optimizer = nnx.merge(graphdef, state)
        value, grads = nnx.value_and_grad(lambda m: loss(m, *batch))(module)
        optimizer.update(module, grads)
        return nnx.state((module, optimizer)), value

    fn = jax.jit(step, donate_argnums=0)
    return _with_info(Case(fn, (state,), batch, n_carry=1), nnx.state(module, nnx.Param))


# ----------------------------------------------------------------------------------- Linen ResNet


def _linen_resnet(widths: tuple[int, ...], per_stage: int) -> Any:
    import flax.linen as nn

    class ResBlock(nn.Module):
        features: int
        stride: int

        @nn.compact
        def __call__(self, x, train: bool):
            norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=0.9)
            y = nn.Conv(self.features, (3, 3), (self.stride, self.stride), use_bias=False)(x)
            y = nn.relu(norm()(y))
            y = norm()(nn.Conv(self.features, (3, 3), use_bias=False)(y))
            if x.shape[-1] != self.features or self.stride != 1:
                x = norm()(nn.Conv(self.features, (1, 1), (self.stride, self.stride), use_bias=False)(x))
            return nn.relu(x + y)

    class ResNet(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool = True):
            x = nn.relu(nn.BatchNorm(use_running_average=not train)(nn.Conv(widths[0], (3, 3))(x)))
            for stage, features in enumerate(widths):
                for block in range(per_stage):
                    x = ResBlock(features, 2 if stage and not block else 1)(x, train)
            return nn.Dense(10)(jnp.mean(x, axis=(1, 2)))

    return ResNet()


def resnet_case(size: tuple, impl: str, opt: str) -> Case:
    """A donated whole training step of the Linen ResNet through `TrainState` (or flat mode)."""
    from flax.training import train_state

    widths, per_stage, image, batch = size
    net = _linen_resnet(tuple(widths), per_stage)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((batch, image, image, 3), dtype=np.float32))
    labels = jnp.asarray(rng.integers(0, 10, (batch,)), jnp.int32)
    variables = net.init(jax.random.key(0), x, train=False)
    params, batch_stats = variables["params"], variables["batch_stats"]

    def loss(params, batch_stats, x, labels):
        logits, updates = net.apply(
            {"params": params, "batch_stats": batch_stats}, x, train=True, mutable=["batch_stats"]
        )
        value = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
        return value, updates["batch_stats"]

    if impl == "flat":
        flat, unravel = gdx.flat.ravel(params)
        tx = make_optimizer(gdx, opt)

        def flat_step(flat, opt_state, batch_stats, unravel, x, labels):
            grad_fn = jax.value_and_grad(lambda f: loss(unravel(f), batch_stats, x, labels), has_aux=True)
            (value, batch_stats), grads = grad_fn(flat)
            updates, opt_state = tx.update(grads, opt_state, flat)
            return gdx.apply_updates(flat, updates), opt_state, batch_stats, value

        fn = jax.jit(flat_step, donate_argnums=(0, 1, 2))
        carry = (flat, tx.init(flat), batch_stats)
        return _with_info(Case(fn, carry, (unravel, x, labels), n_carry=3), params)

    class TrainState(train_state.TrainState):
        batch_stats: Any

    tx, _ = _tx(impl, opt)
    state = TrainState.create(apply_fn=net.apply, params=params, tx=tx, batch_stats=batch_stats)

    def step(state, x, labels):
        grad_fn = jax.value_and_grad(lambda p: loss(p, state.batch_stats, x, labels), has_aux=True)
        (value, batch_stats), grads = grad_fn(state.params)
        state = state.apply_gradients(grads=grads).replace(batch_stats=batch_stats)
        return state, value

    return _with_info(Case(jax.jit(step, donate_argnums=0), (state,), (x, labels), n_carry=1), params)


def _with_info(case: Case, params: Any) -> Case:
    leaves = jax.tree.leaves(params)
    case.info = {"leaves": len(leaves), "params": int(sum(np.size(p) for p in leaves))}  # type: ignore[attr-defined]
    return case


# ------------------------------------------------------------------------------------------- runner


def builds(model: str, size: tuple, opt: str) -> dict[str, fair.Build]:
    """The fair-runner builds of one (model, optimizer) case, optax first."""
    impls = [i for i in IMPLEMENTATIONS if i != "flat" or opt in FLAT_OPTIMIZERS]
    if model == "resnet":
        return {
            i: fair.Build("benchmarks.flax_models:resnet_case", dict(size=size, impl=i, opt=opt))
            for i in impls
        }
    return {
        i: fair.Build("benchmarks.flax_models:nnx_case", dict(model=model, size=size, impl=i, opt=opt))
        for i in impls
    }


def describe(model: str, size: tuple) -> str:
    if model == "lm":
        return "NNX LM {}x{} vocab {} seq {} batch {}".format(*size)
    if model == "deep":
        return "NNX deep {} blocks width {} batch {}".format(*size)
    widths, per_stage, image, batch = size
    return f"Linen ResNet {'/'.join(map(str, widths))}x{per_stage} {image}px batch {batch}"


def loss_agreement(rows: dict[str, dict]) -> None:
    """`loss_max_abs_diff` (over every step) and `loss_final` on each row, against optax's losses."""
    reference = rows.get("optax", {}).get("losses")
    for row in rows.values():
        losses = row.pop("losses", None)
        if losses is None:
            continue
        row["loss_final"] = losses[-1]
        row["loss_first"] = losses[0]
        if reference is not None and len(reference) == len(losses) and row["impl"] != SGD_FLOOR:
            row["loss_max_abs_diff"] = float(np.max(np.abs(np.asarray(losses) - np.asarray(reference))))


def optimizer_part(rows: dict[str, dict]) -> None:
    """Adds the optimizer's own share of compile and step time (the row's minus the sgd floor's)
    and its ratio to optax's share, as `note`: the whole-step ratios also hold the model's cost,
    which no optimizer changes."""
    floor, reference = rows.get(SGD_FLOOR, {}), rows.get("optax", {})
    for impl, row in rows.items():
        if impl in (SGD_FLOOR, "optax"):
            continue
        parts = []
        for key, label in (("compile_s", "compile"), ("step_ms", "step")):
            if None in (row.get(key), floor.get(key), reference.get(key)):
                continue
            own, optax_own = row[key] - floor[key], reference[key] - floor[key]
            row[f"optimizer_{key}"] = own
            # A step part under the floor's, or optax's, is noise in a model-bound step.
            if own >= 0 and optax_own > 0:
                row[f"optimizer_{key}_vs_optax"] = own / optax_own
                parts.append(f"{label} {own / optax_own:.2f}")
        if parts:
            row["note"] = "optimizer part ÷ optax: " + ", ".join(parts)


def run(
    mode: str,
    out_dir: str,
    models: tuple[str, ...] = ("lm", "deep", "resnet"),
    optimizers: tuple[str, ...] = OPTIMIZERS,
    **overrides: int,
) -> dict:
    """Runs every (model, optimizer) case of `mode` (those of `optimizers`; `overrides` of
    `blocks` / `steps`); writes `<date>-<machine>-flax[-mode].{json,md}`."""
    config, sizes = {**RUNS[mode], **overrides}, SIZES[mode]
    evict = 1 << 16 if mode == "smoke" else 1 << 26
    label = "flax" if mode == "full" else f"{mode}-flax"
    results: dict[str, Any] = {"mode": label, "machine": report.machine_info(), "rows": [], "floors": {}}
    for model in models:
        size = sizes[model]
        for opt in (o for o in config["opts"][model] if o in optimizers):
            rows = fair.measure(
                builds(model, size, opt),
                blocks=config["blocks"],
                steps=config["steps"],
                limit=config["limit"],
                evict_elements=evict,
            )
            loss_agreement(rows)
            optimizer_part(rows)
            for row in rows.values():
                row.update(group="flax", tree=describe(model, size), model=model, optimizer=opt)
                results["rows"].append(row)
                report.print_row(row)
            report.write_partial(results, out_dir)
    report.write(results, out_dir, latest=False)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="the issue's model sizes, fewer cases")
    group.add_argument("--smoke", action="store_true", help="tiny models, one timed step (seconds)")
    group.add_argument("--gpu", action="store_true", help="the GPU run of benchmarks/gpu.sh")
    parser.add_argument("--models", default="lm,deep,resnet", help="comma-separated: lm, deep, resnet")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS), help="a subset of the mode's")
    parser.add_argument("--blocks", type=int, help="timed blocks (default by mode)")
    parser.add_argument("--steps", type=int, help="timed steps per block (default by mode)")
    parser.add_argument("--output-dir", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "gpu" if args.gpu else "full"
    overrides = {k: v for k, v in (("blocks", args.blocks), ("steps", args.steps)) if v}
    run(mode, args.output_dir, tuple(args.models.split(",")), tuple(args.optimizers.split(",")), **overrides)


if __name__ == "__main__":
    main()
