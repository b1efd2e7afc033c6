"""The console shows what a user reads; Kedro's bookkeeping goes to logs/census-mtl.log."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.slow


def test_console_is_quiet_and_the_full_log_is_kept(project_copy):
    env = os.environ | {"KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env", "sample", "--pipelines", "ingest"],
        cwd=project_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    console = done.stdout + done.stderr
    assert "Writing synthetic census files" in console  # the project's own lines stay
    for noise in ["Loading data from", "Running node", "Completed 1 out of", "dataset names"]:
        assert noise not in console
    log = (project_copy / "logs" / "census-mtl.log").read_text()
    assert "Loading data from raw_train" in log and "Completed 2 out of 2 tasks" in log


def test_run_info_names_commit_environment_and_data(tmp_path):
    from census_mtl.config.project import SyntheticData
    from census_mtl.provenance import UCI_DATA, run_info

    assert run_info(tmp_path, "local", None) | {"date": "d"} == {
        "date": "d",
        "commit": "unknown",
        "environment": "local",
        "data": UCI_DATA,
    }
    synthetic = SyntheticData(raw_dir="x", train_rows=40, test_rows=20, seed=3)
    info = run_info(PROJECT, "sample", synthetic)
    assert info["data"] == "synthetic census data: 40 train and 20 test rows (seed 3)"
    assert len(info["commit"].split("+")[0]) >= 7
