"""Data-parallel training across two real processes (jax.distributed on localhost, gloo on CPU).

Each process owns one CPU device and half of every global batch; both end
with the same params, equal to one process training on the full batch.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from tests.distributed import multiprocess_worker as worker

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env() -> dict[str, str]:
    # Built from scratch: the test session's XLA_FLAGS (8 fake devices) must not leak in,
    # each child is one process with one CPU device.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


def test_two_processes_train_like_one_process_on_the_full_batch(tmp_path):
    port = free_port()
    outputs = [tmp_path / f"params_{i}.npz" for i in range(2)]
    logs = [open(tmp_path / f"log_{i}.txt", "w+") for i in range(2)]  # noqa: SIM115 (closed in finally)
    processes: list[subprocess.Popen] = []
    try:
        for i in range(2):
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(Path(worker.__file__)), str(port), str(i), str(outputs[i])],
                    env=child_env(),
                    cwd=ROOT,
                    stdout=logs[i],
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, killed as one on timeout
                )
            )
        for process in processes:
            process.wait(timeout=TIMEOUT_S)
        for i, process in enumerate(processes):
            logs[i].seek(0)
            assert process.returncode == 0, f"process {i} failed:\n{logs[i].read()[-3000:]}"
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in logs:
            log.close()

    got = [dict(np.load(path)) for path in outputs]
    params, optimizer = worker.make_params(), worker.make_optimizer()
    state = optimizer.init(params)
    step = jax.jit(worker.step)
    for x, y in zip(*worker.make_data()):
        params, state = step(params, state, x, y)
    for name in params:
        np.testing.assert_array_equal(got[0][name], got[1][name])
        # The batch mean is summed in another order (per process, then across): 1e-5.
        np.testing.assert_allclose(got[0][name], params[name], rtol=1e-5, atol=1e-6)
