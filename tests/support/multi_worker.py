"""Two real worker processes of a `MultiWorkerMirroredStrategy` cluster on 127.0.0.1, for the multi-worker tests."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence

from support.programs import REPO_ROOT


def free_ports(count: int) -> list[int]:
    """`count` TCP ports free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_two_workers(script_text: str, arguments: Callable[[int], Sequence[str]],
                    timeout: float) -> tuple[list[int], list[tuple[str, str]]]:
    """Runs `python -c script_text *arguments(index)` as worker 0 and 1 of a 127.0.0.1 cluster (`TF_CONFIG`, CPU
    only, in the repository root); returns their return codes and (stdout, stderr)."""
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                                     "task": {"type": "worker", "index": index}}),
                   CUDA_VISIBLE_DEVICES="")
        processes.append(subprocess.Popen([sys.executable, "-c", script_text, *arguments(index)], env=env,
                                          cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=timeout))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [p.returncode for p in processes], outputs
