"""Shared fixtures. Tests run on the `tiny` profile, offline, with models cached once per session."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


E2E_MODULES = frozenset({"test_pipeline.py", "test_provenance.py", "test_distributed.py"})
"""Modules whose tests launch whole `girl run` pipelines or several processes (marked ``e2e``; the fast tier,
``bash scripts/test.sh --fast``, leaves them out together with ``notebooks`` and ``slow``)."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)


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
