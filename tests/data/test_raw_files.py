"""Raw files are checked against the SHA-256 recorded when they were obtained (issue 12, row 1),
and a project without them fetches them first or ends with one line (row 12)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DatasetError

from census_mtl.data.fetch import FetchError, RawFileChanged, checksum_path, digest
from census_mtl.datasets import RawCensusDataset

LOAD_ARGS = {"header": None, "sep": ",", "skipinitialspace": True, "keep_default_na": False}


@pytest.fixture
def raw_copy(synthetic_raw_dir, tmp_path) -> Path:
    for f in synthetic_raw_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "census-income.test.gz"


def _edit(path: Path, old: bytes, new: bytes) -> None:
    text = gzip.decompress(path.read_bytes())
    assert old in text
    path.write_bytes(gzip.compress(text.replace(old, new, 1)))


def test_synthetic_files_record_their_checksum(raw_copy):
    recorded = checksum_path(raw_copy).read_text().split()[0]
    assert recorded == digest(raw_copy)[0]
    assert RawCensusDataset(str(raw_copy), LOAD_ARGS).load().shape[1] == 42


@pytest.mark.parametrize(("old", "new"), [(b"Private", b"Prhvate"), (b", 0, ", b", 9, ")])
def test_a_changed_letter_or_digit_is_caught(raw_copy, old, new):
    _edit(raw_copy, old, new)
    with pytest.raises(DatasetError, match=r"census-income\.test\.gz changed since it") as e:
        RawCensusDataset(str(raw_copy), LOAD_ARGS).load()
    assert isinstance(e.value.__cause__, RawFileChanged)


def test_a_file_without_record_is_refused(raw_copy):
    checksum_path(raw_copy).unlink()
    with pytest.raises(DatasetError, match="no checksum recorded beside it") as e:
        RawCensusDataset(str(raw_copy), LOAD_ARGS).load()
    assert isinstance(e.value.__cause__, FetchError)


def test_raw_files_are_never_written(raw_copy):
    with pytest.raises(DatasetError, match="raw file"):
        RawCensusDataset(str(raw_copy)).save(pd.DataFrame())


def _kedro_run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    # A dead proxy: the run must not reach the UCI archive (nor anything else).
    offline = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    environ = {k: v for k, v in os.environ.items() if k != "CENSUS_DATA_DIR"} | offline | env
    return subprocess.run(
        [sys.executable, "-m", "kedro", "run", *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_fresh_clone_without_a_source_ends_in_one_line(project_copy):
    done = _kedro_run(project_copy, "--pipelines", "ple")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "could not be obtained: copy UCI's file there, set " in errors[0]
    assert "CENSUS_DATA_DIR" in errors[0] and "Traceback" not in done.stderr


@pytest.mark.slow
def test_fresh_clone_fetches_first_then_ingest_catches_a_changed_file(project_copy, tmp_path):
    source = tmp_path / "uci"  # synthetic files under UCI's names stand in for the real ones
    subprocess.run(
        [
            sys.executable,
            "-m",
            "census_mtl.data",
            "synth",
            "--raw-dir",
            str(source),
            "--train-rows",
            "300",
            "--test-rows",
            "200",
        ],
        check=True,
    )
    # The fetch runs first and checks UCI's checksums, which synthetic files cannot match.
    done = _kedro_run(project_copy, "--pipelines", "ingest", CENSUS_DATA_DIR=str(source))
    assert done.returncode == 1 and "does not match UCI's census-income" in done.stderr
    raw = project_copy / "data" / "01_raw"
    for name in ("census-income.data.gz", "census-income.test.gz"):  # as a real fetch leaves them
        shutil.copy(source / name, raw / name)
        checksum_path(raw / name).write_text(checksum_path(source / name).read_text())
    assert _kedro_run(project_copy, "--pipelines", "ingest").returncode == 0
    _edit(raw / "census-income.test.gz", b"Private", b"Prhvate")
    done = _kedro_run(project_copy, "--pipelines", "ingest")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "census-income.test.gz changed since it was obtained" in done.stderr
