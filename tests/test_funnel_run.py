"""The whole project on a funnel of the synthetic data, with scarce labels on its last step."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import copy_project
from tests.test_run import run_kedro

FUNNEL = {
    "income": None,
    "marital": None,
    "worked": {"column": "weeks_worked", "at_least": 1},
    "full_year": {"column": "weeks_worked", "at_least": 26, "space": "worked"},  # synthetic
    "high_income": {"column": "income_50k", "positive": ["50000+."], "space": "full_year"},
}
NO_REFERENCES = {
    "PLE paper (Tang et al., RecSys 2020), PLE": None,
    "MMoE paper (Ma et al., KDD 2018), MMoE": None,
}


@pytest.fixture(scope="module")
def funnel_project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("funnel"))
    preprocess = {"tasks": FUNNEL, "label_fraction": {"high_income": 0.5}}
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_kedro(
            project,
            monkeypatch,
            ["__default__"],
            preprocess=preprocess,
            compare={"references": NO_REFERENCES},
        )
    return project / "data" / "sample"


def test_every_model_is_scored_in_each_space_and_over_the_entire_space(funnel_project):
    reporting = funnel_project / "08_reporting"
    table = pd.read_csv(reporting / "compare_table.csv")
    assert {"esmm", "aitm", "ple", "gbdt", "single_task"} <= set(table["model"])
    for task in ["worked", "full_year", "high_income", "full_year_entire", "high_income_entire"]:
        assert table[f"auc_{task}"].between(0.3, 1.0).all(), task
    metrics = json.loads((reporting / "metrics" / "esmm.json").read_text())
    assert metrics["spaces"] == {"full_year": "worked", "high_income": "full_year"}
    test = pd.read_parquet(funnel_project / "05_model_input" / "test.parquet")
    rows = metrics["test"]
    assert rows["worked"]["rows"] == len(test) == rows["high_income_entire"]["rows"]
    assert rows["full_year"]["rows"] == test["y__full_year"].notna().sum() < len(test)
    assert rows["high_income"]["rows"] == test["y__high_income"].notna().sum()
    paired = pd.read_csv(reporting / "paired_comparisons.csv")
    assert {"full_year_entire", "high_income"} <= set(paired["task"])
    assert "high_income: " in (reporting / "compare_report.md").read_text()  # rows per task


def test_scarce_labels_reach_training_and_the_gbdt(funnel_project):
    train = pd.read_parquet(funnel_project / "05_model_input" / "train.parquet")
    in_space = train["y__full_year"] == 1
    kept = train.loc[in_space, "y__high_income"].notna().mean()
    assert kept == pytest.approx(0.5, abs=0.1)  # of the rows in its space
    report = json.loads((funnel_project / "08_reporting" / "data_report.json").read_text())
    assert report["labelled_rows"]["high_income"]["train"] == train["y__high_income"].notna().sum()
    history = pd.read_csv(funnel_project / "07_model_output" / "gbdt" / "training_history.csv")
    assert history["val_auc_high_income"].notna().any()
