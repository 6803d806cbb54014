"""Shared test fixtures: paths to ../shared/data and quiet TensorFlow logging."""
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest

from support.programs import SHARED_DATA  # noqa: E402


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """Real data from ../shared/data (vocabularies, GLUE, sample pretraining text)."""
    if not (SHARED_DATA / "vocab" / "uncased_vocab.txt").exists():
        raise FileNotFoundError(f"shared data not found at {SHARED_DATA}; set KERAS_BERT_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def uncased_vocab(shared_data) -> pathlib.Path:
    return shared_data / "vocab" / "uncased_vocab.txt"


@pytest.fixture(scope="session")
def chinese_vocab(shared_data) -> pathlib.Path:
    return shared_data / "vocab" / "chinese_vocab.txt"
