"""``dvc repro`` on synthetic data, in a throwaway git repository holding a copy of the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from census_mtl.data.synthetic import write_synthetic

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path) -> str:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_repro_runs_once_then_does_nothing(project_copy):
    shutil.copytree(
        project_copy / "conf" / "sample",
        project_copy / "conf" / "local",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("globals.yml"),
    )
    write_synthetic(project_copy / "data" / "01_raw", n_train=2000, n_test=1000, seed=0)
    _run(["git", "init", "-q"], project_copy)
    _run(["dvc", "init", "-q"], project_copy)
    _run(["dvc", "config", "core.analytics", "false"], project_copy)
    # The synthetic files stand in for UCI's: record them as the fetch stage's output.
    _run(["dvc", "commit", "-f", "fetch"], project_copy)
    first = _run(["dvc", "repro"], project_copy)
    for stage in ["ingest", "preprocess", "train@ple", "evaluate@single_task", "compare"]:
        assert f"Running stage '{stage}'" in first
    assert (project_copy / "data" / "08_reporting" / "compare_report.html").exists()
    second = _run(["dvc", "repro"], project_copy)
    assert "Running stage" not in second
    assert "Data and pipelines are up to date." in second
    metrics = _run(["dvc", "metrics", "show"], project_copy)
    for path in ["data_report.json", "metrics/ple.json", "training/mmoe.json"]:
        assert f"data/08_reporting/{path}" in metrics
    plots = _run(["dvc", "plots", "show", "-o", "dvc_plots"], project_copy)
    assert "dvc_plots/index.html" in plots
    page = (project_copy / "dvc_plots" / "index.html").read_text()
    assert "roc_income" in page and "pr_marital" in page
