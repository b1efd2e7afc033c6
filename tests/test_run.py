"""End-to-end runs through ``KedroSession`` on synthetic data, in a copy of the project."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from census_mtl.config import ConfigError
from census_mtl.models import MODEL_NAMES


def run_kedro(project: Path, monkeypatch, pipelines: list[str], env: str = "sample", **params):
    monkeypatch.chdir(project)
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env, runtime_params=params) as session:
        return session.run(pipeline_names=pipelines)


def test_sample_env_ingests_and_preprocesses(project_copy, monkeypatch):
    run_kedro(project_copy, monkeypatch, ["ingest", "preprocess"])
    data = project_copy / "data" / "sample"
    assert (data / "01_raw" / "census-income.data.gz").exists()  # written by the hook
    report = json.loads((data / "08_reporting" / "data_report.json").read_text())
    assert report["rows"] == {"train": 4000, "validation": 1000, "test": 1000}
    assert 0.02 < report["positive_rate"]["income"]["train"] < 0.2
    train = pd.read_parquet(data / "05_model_input" / "train.parquet")
    assert len(train) == 4000 and {"y__income", "y__marital", "weight"} <= set(train.columns)
    assert not (project_copy / "data" / "05_model_input").exists()  # real outputs untouched


def test_misspelled_parameter_fails_before_any_work(project_copy, monkeypatch):
    with pytest.raises(ConfigError, match=r"preprocess.drop_columns = \['edukation'\]"):
        run_kedro(
            project_copy,
            monkeypatch,
            ["ingest", "preprocess"],
            preprocess={"drop_columns": ["edukation"]},
        )
    assert not (project_copy / "data").exists()  # not even the synthetic files were written


def test_ple_pipeline_learns_on_synthetic_data(project_copy, monkeypatch):
    run_kedro(project_copy, monkeypatch, ["ple"])
    data = project_copy / "data" / "sample"
    summary = json.loads((data / "08_reporting" / "training" / "ple.json").read_text())
    for run in summary["runs"]:
        assert run["validation_auc"]["income"] > 0.7
        assert run["validation_auc"]["marital"] > 0.7
    assert (data / "06_models" / "ple" / "model.pt").exists()
    assert (data / "06_models" / "ple" / "checkpoints" / "last-seed1.pt").exists()
    history = pd.read_csv(data / "07_model_output" / "ple" / "training_history.csv")
    assert len(history) == sum(run["epochs"] for run in summary["runs"])


def test_registered_pipelines():
    from census_mtl.pipeline_registry import register_pipelines

    pipelines = register_pipelines()
    for model in MODEL_NAMES:
        assert f"train_{model}" in pipelines
        names = {n.name for n in pipelines[model].nodes}
        assert {"validate_train", "fit_preprocessor", f"{model}.train"} <= names
    assert {n.name for n in pipelines["blend"].nodes} == {
        "blend.train",
        "blend.evaluate",
        "blend.test_auc",
    }
    tunable = ["ple", "cgc", "mmoe", "share_bottom", "esmm", "aitm", "gbdt"]
    for model in tunable:
        nodes = [n.name for n in pipelines[f"tune_{model}"].nodes]
        assert nodes == [f"{model}.tune", f"{model}.importance_figure"]
    studies = {"relatedness", "scarce", "balancing", "balancing_relatedness", "balancing_report"}
    opt_in = {"predict", *studies, *(f"tune_{m}" for m in tunable)}
    assert [n.name for n in pipelines["relatedness"].nodes] == [
        "task_pairs",
        "train_networks",
        "report_relatedness",
    ]
    everything = {n.name for name, p in pipelines.items() for n in p.nodes if name not in opt_in}
    assert {n.name for n in pipelines["__default__"].nodes} == everything
