#!/usr/bin/env bash
# One call for a session lent a GPU (issue 23): installs the CUDA build of the installed
# jax version, then in about 9 minutes runs
#   1. 1B-param Adam against the HBM floor measured in the same run (gpu_checks adam),
#   2. fuse / flat parity with optax on the GPU (gpu_checks parity),
#   3. the Flax models (benchmarks.flax_models --gpu),
#   4. the synthetic trees (benchmarks.run --quick --only update),
# and writes benchmarks/results/<date>-gpu-*. Each part has its own time limit, so one
# slow part cannot starve the others; a part that fails is reported and the rest go on.
#
#   bash benchmarks/gpu.sh                  # on the GPU machine
#   GDX_GPU_DRY=1 bash benchmarks/gpu.sh    # or --dry: CPU, tiny sizes, no install
#                                           # (tests/test_benchmarks_smoke.py runs it)
# GDX_GPU_OUT=DIR writes the results elsewhere (the dry run's default: a temp dir).
set -uo pipefail
cd "$(dirname "$0")/.."

DRY="${GDX_GPU_DRY:-0}"
[[ "${1:-}" == "--dry" ]] && DRY=1
PY="${PYTHON:-.venv/bin/python}"
[[ -x "$PY" ]] || PY=python3
unset XLA_FLAGS  # one device, not the tests' fake CPU devices
# Several worker processes share the GPU (benchmarks/fair.py): no process may grab 75% of it.
export XLA_PYTHON_CLIENT_PREALLOCATE=false

if [[ "$DRY" == 1 ]]; then
    OUT="${GDX_GPU_OUT:-$(mktemp -d)}"
    export JAX_PLATFORMS=cpu
    RUN_ARGS=(--smoke --only train_step)
    FLAX_ARGS=(--smoke --models deep)
    CHECK_ARGS=(--dry)
    LIMIT=(300 300 600 600)  # a loaded 2-core machine: each worker process imports jax
else
    OUT="${GDX_GPU_OUT:-benchmarks/results}"
    sees_gpu() { "$PY" -c 'import jax; assert jax.default_backend() == "gpu"' >/dev/null 2>&1; }
    # A device image that already has CUDA jax (the lent H200s do, with no network) needs
    # no install; otherwise the CUDA plugin of the installed jax, cuda13 if no cuda12 wheel.
    if ! sees_gpu; then
        JAX_VERSION="$("$PY" -c 'import importlib.metadata as m; print(m.version("jax"))')"
        "$PY" -m pip install -q "jax[cuda12]==$JAX_VERSION" || "$PY" -m pip install -q "jax[cuda13]==$JAX_VERSION" \
            || { echo "gpu.sh: could not install the CUDA build of jax $JAX_VERSION" >&2; exit 1; }
    fi
    "$PY" -c 'import jax; assert jax.default_backend() == "gpu", jax.devices(); print(jax.devices())' \
        || { echo "gpu.sh: jax sees no GPU" >&2; exit 1; }
    export JAX_PLATFORMS=cuda
    RUN_ARGS=(--quick --only update --time-limit 60)
    FLAX_ARGS=(--gpu --models lm,resnet,deep)  # deep last: its compiles ran past 120 s on an H200
    CHECK_ARGS=()
    LIMIT=(90 60 220 150)  # seconds per part: 520 s, plus the install
fi
mkdir -p "$OUT"
echo "gpu.sh: results in $OUT (dry=$DRY)"

status=0
part() {  # part LIMIT NAME COMMAND...: runs one part under a time limit, logs it, goes on
    local limit="$1" name="$2"
    shift 2
    echo "== $name (limit ${limit} s)"
    if ! timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$OUT/gpu-$name.log"; then
        echo "gpu.sh: part $name failed or ran past ${limit} s" >&2
        status=1
    fi
}
# The issue's two GPU questions first (the HBM floor, parity), then the Flax models, then the
# synthetic trees; a part cut off by its limit keeps the rows it finished (.*-partial.json).
part "${LIMIT[0]}" adam "$PY" -m benchmarks.gpu_checks adam "${CHECK_ARGS[@]}" --output-dir "$OUT"
part "${LIMIT[1]}" parity "$PY" -m benchmarks.gpu_checks parity "${CHECK_ARGS[@]}" --output-dir "$OUT"
part "${LIMIT[2]}" flax "$PY" -m benchmarks.flax_models "${FLAX_ARGS[@]}" --output-dir "$OUT"
part "${LIMIT[3]}" trees "$PY" -m benchmarks.run "${RUN_ARGS[@]}" --no-latest --output-dir "$OUT"
echo "gpu.sh: done (status $status); files in $OUT:"
ls "$OUT"
exit "$status"
