"""Shared fixtures: synthetic census files and throwaway copies of the project."""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from census_mtl.data.synthetic import synthetic_frame, write_synthetic

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data" / "census-income"


@pytest.fixture(scope="session")
def synthetic_raw_dir(tmp_path_factory) -> Path:
    """A folder with synthetic ``census-income.data.gz`` and ``census-income.test.gz``."""
    raw_dir = tmp_path_factory.mktemp("raw")
    write_synthetic(raw_dir, n_train=3000, n_test=2000, seed=0)
    return raw_dir


@cache
def train_frame() -> pd.DataFrame:
    """A typed synthetic train table, as the ingest pipeline returns it (built once)."""
    return synthetic_frame(3000, seed=0)


@pytest.fixture(scope="session")
def census_train() -> pd.DataFrame:
    return train_frame()


@pytest.fixture(scope="session")
def census_test() -> pd.DataFrame:
    return synthetic_frame(2000, seed=1)


def copy_project(target: Path) -> Path:
    """Copy the project (code, configuration, DVC files, notebooks; no data) into ``target``."""
    skip = shutil.ignore_patterns("local", "__pycache__", ".ipynb_checkpoints")
    items = [
        "pyproject.toml",
        "conf",
        "src",
        "notebooks",
        "dvc.yaml",
        ".dvcignore",
        ".telemetry",
        "logs",
    ]
    for item in items:
        source = PROJECT / item
        if source.is_dir():
            shutil.copytree(source, target / item, ignore=skip)
        else:
            shutil.copy2(source, target / item)
    (target / "conf" / "local").mkdir()
    return target


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """A copy of the project to run Kedro or DVC in."""
    return copy_project(tmp_path)
