"""``dvc repro`` on synthetic data, in a throwaway git repository holding a copy of the project."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from census_mtl.data.synthetic import write_synthetic
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path) -> str:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _outs(project: Path) -> list[Path]:
    """Every file that ``dvc.lock`` records as a stage output."""
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    paths = [project / o["path"] for stage in lock["stages"].values() for o in stage["outs"]]
    return sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())


def _push_then_pull_into_a_fresh_clone(project: Path, tmp_path_factory, targets: list[str]) -> Path:
    """Commit, ``dvc push`` to the default remote, clone, ``dvc pull`` of ``targets`` and what
    they depend on (the stages run: the studies' cached outputs are not in the cache); the
    clone's path."""
    remote, clone = tmp_path_factory.mktemp("remote"), tmp_path_factory.mktemp("clone") / "c"
    # The project's default remote, pointed (in the untracked config.local) into the test's folder.
    _run(["dvc", "remote", "modify", "--local", "local", "url", str(remote)], project)
    _run(["git", "add", "-A"], project)
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "run"], project)
    assert "files pushed" in _run(["dvc", "push"], project)
    _run(["git", "clone", "-q", str(project), str(clone)], project)
    _run(["dvc", "remote", "modify", "--local", "local", "url", str(remote)], clone)
    _run(["dvc", "pull", "--with-deps", *targets], clone)
    return clone


def test_default_remote_is_a_folder_outside_the_repository():
    config = configparser.ConfigParser()
    config.read(PROJECT / ".dvc" / "config")
    assert config["core"]["remote"] == "local" and config["core"]["analytics"] == "false"
    url = (PROJECT / ".dvc" / Path(config["'remote \"local\"'"]["url"])).resolve()
    assert not url.is_relative_to(PROJECT)


def test_every_evaluated_model_is_in_every_plot():
    dvc = yaml.safe_load((PROJECT / "dvc.yaml").read_text())
    models = set(dvc["stages"]["evaluate"]["foreach"])
    for plot in dvc["plots"]:
        ((name, spec),) = plot.items()
        drawn = {Path(path).stem for path in spec["y"]}
        assert drawn == models, f"plot {name}: {sorted(models ^ drawn)}"


def test_repro_runs_once_then_does_nothing(project_copy, tmp_path_factory):
    shutil.copytree(
        project_copy / "conf" / "sample",
        project_copy / "conf" / "local",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("globals.yml"),
    )
    write_synthetic(project_copy / "data" / "01_raw", n_train=2000, n_test=1000, seed=0)
    _run(["git", "init", "-q"], project_copy)
    _run(["dvc", "init", "-q"], project_copy)
    shutil.copy(PROJECT / ".dvc" / "config", project_copy / ".dvc" / "config")
    shutil.copytree(PROJECT / ".dvc" / "plots", project_copy / ".dvc" / "plots")
    # The synthetic files stand in for UCI's: record them as the fetch stage's output.
    _run(["dvc", "commit", "-f", "fetch"], project_copy)
    # Every stage but the scarce-label study's (four more whole runs): its commands are checked
    # dry, and its report pipeline runs in tests/test_sample_project.py.
    targets = ["compare", "relatedness", "funnel"]
    first = _run(["dvc", "repro", *targets], project_copy)
    for stage in [
        "ingest",
        "preprocess",
        "train@ple",
        "evaluate@single_task",
        "compare",
        "relatedness",
        "funnel",
    ]:
        assert f"Running stage '{stage}'" in first
    assert (project_copy / "data" / "08_reporting" / "compare_report.html").exists()
    assert (project_copy / "data" / "08_reporting" / "relatedness" / "report.md").exists()
    second = _run(["dvc", "repro", *targets], project_copy)
    assert "Running stage" not in second
    assert "Data and pipelines are up to date." in second
    for fraction in ["0.01", "0.03", "0.1", "0.3"]:  # each fraction's run, dry
        scarce = _run(["dvc", "repro", "--dry", "-s", f"scarce@{fraction}"], project_copy)
        command = f"> kedro run --env scarce --params preprocess.label_fraction.income={fraction}"
        assert command in scarce
    balancing = _run(["dvc", "repro", "--dry", "-s", "balancing_relatedness"], project_copy)
    assert "> kedro run --pipelines balancing_relatedness" in balancing
    stages = _run(["dvc", "stage", "list"], project_copy)
    assert all(f"balancing_{s}" in stages for s in ("census", "scarce", "funnel", "report"))
    tune = _run(["dvc", "repro", "--dry", "-s", "tune_gbdt"], project_copy)
    assert (
        "> kedro run --pipelines tune_gbdt --params tuning.objective=per_task,tuning.n_trials=100"
        in tune
    )
    metrics = _run(["dvc", "metrics", "show"], project_copy)
    for path in ["data_report.json", "metrics/ple.json", "training/mmoe.json"]:
        assert f"data/08_reporting/{path}" in metrics
    plots = _run(["dvc", "plots", "show", "-o", "dvc_plots"], project_copy)
    assert "dvc_plots/index.html" in plots
    page = (project_copy / "dvc_plots" / "index.html").read_text()
    assert "<script src=" not in page and "vegaEmbed(" in page  # offline: vega inlined
    assert "roc_income" in page and "pr_marital" in page
    shutil.rmtree(project_copy / "dvc_plots")
    clone = _push_then_pull_into_a_fresh_clone(project_copy, tmp_path_factory, targets)
    outs = _outs(project_copy)
    names = {p.name for p in outs}
    assert {"census-income.data.gz", "census-income.test.gz.sha256", "model.pt"} <= names
    for path in outs:  # data and models restored byte for byte
        restored = clone / path.relative_to(project_copy)
        assert restored.read_bytes() == path.read_bytes(), restored
    _try_a_parameter_with_dvc_exp(project_copy)


def _try_a_parameter_with_dvc_exp(project: Path) -> None:
    """``dvc exp run -S`` on a parameter file DVC tracks, and the result in ``dvc exp show``."""
    ran = _run(
        [
            "dvc",
            "exp",
            "run",
            "-S",
            "conf/base/parameters_compare.yml:compare.alpha=0.01",
            "compare",
        ],
        project,
    )
    assert "Running stage 'compare'" in ran and "Running stage 'train@" not in ran
    assert "compare.alpha" in _run(["dvc", "params", "diff"], project)
    shown = json.loads(_run(["dvc", "exp", "show", "--json"], project))
    experiments = [e for entry in shown for x in entry.get("experiments") or [] for e in x["revs"]]
    params = experiments[0]["data"]["params"]["conf/base/parameters_compare.yml"]["data"]
    metrics = experiments[0]["data"]["metrics"]["data/08_reporting/metrics/ple.json"]["data"]
    assert params["compare"]["alpha"] == 0.01 and 0.5 < metrics["test"]["income"]["auc"] <= 1
    # The docs' narrow views (docs/dvc.md): test AUC per model and task, the experiment vs HEAD.
    assert "compare.alpha" in _run(["dvc", "exp", "show", "--md", "--only-changed"], project)
    name = _run(["dvc", "exp", "ls", "--name-only"], project).split()[-1]
    for view in (
        ["dvc", "metrics", "show", "--md", "data/08_reporting/auc"],
        [
            "dvc",
            "metrics",
            "diff",
            "--md",
            "--all",
            "--targets",
            "data/08_reporting/auc",
            "--",
            "HEAD",
            name,
        ],
    ):
        table = _run(view, project)
        assert max(map(len, table.splitlines())) <= 100, table
        assert re.search(r"\| data/08_reporting/auc/ple\.json +\| (0\.\d+|income) ", table), table
