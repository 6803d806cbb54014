"""Running the repository's programs as a user does: from the repository root, as a script or a module."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Sequence

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
# Real data (vocabularies, GLUE, the sample pretraining text) lives in ../shared/data beside the repository.
SHARED_DATA = pathlib.Path(os.environ.get("KERAS_BERT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def run_program(program: str, args: Sequence[str], module: bool = False,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """`python <program>.py args` (or `python -m <program as a module> args` with `module`) in the repository root,
    e.g. `run_program("finetuning/run_classifier", [...])`; returns the finished process (text stdout/stderr)."""
    command = [sys.executable, "-m", program.replace("/", ".")] if module else \
        [sys.executable, str(REPO_ROOT / f"{program}.py")]
    return subprocess.run([*command, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
