"""Shared fixtures. Tests run on the `tiny` profile, offline, with models cached once per session."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_cfg():
    from girl_lib.config import get_profile

    return get_profile("tiny")


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory, tiny_cfg):
    """A run dir holding only the `data` stage of the tiny profile (shared, read-only for tests)."""
    from girl_lib.data import run_data

    run_dir = tmp_path_factory.mktemp("tiny_data_run")
    run_data(tiny_cfg, run_dir)
    return run_dir


@pytest.fixture(scope="session")
def tiny_generator():
    from girl_lib.models import load_generator

    return load_generator("tiny")
