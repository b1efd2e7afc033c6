"""The scarce-label study's tables, sentences and figure, on hand-made run reports."""

from __future__ import annotations

import pandas as pd
import pytest

from census_mtl.config import ConfigError
from census_mtl.pipelines.scarce.nodes import (
    fraction_verdicts,
    report_fractions,
    scarce_task,
    summarise_fractions,
)
from census_mtl.reporting import scarce

COMPARE = {"report_dir": "data/scarce/08_reporting"}
PREPROCESS = {
    "tasks": {
        "income": {"column": "income_50k", "positive": ["50000+."]},
        "marital": {"column": "marital_stat", "positive": ["Never married"]},
    },
    "label_fraction": {"income": 0.1},
}


def _report(labelled: int) -> dict:
    return {"rows": {"train": 1000}, "labelled_rows": {"income": {"train": labelled}}}


def _table(auc: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": list(auc),
            "auc_income": list(auc.values()),
            "auc_std_income": 0.001,
            "seeds": 5,
        }
    )


def _paired(rows: list[tuple]) -> pd.DataFrame:
    columns = ["a", "b", "task", "difference", "low", "high", "p_holm", "significant"]
    return pd.DataFrame(rows, columns=columns)


SCARCE_PAIRED = _paired(
    [
        ("ple", "single_task", "income", 0.012, 0.008, 0.016, 0.001, True),
        ("mmoe", "single_task", "income", 0.002, -0.001, 0.005, 0.6, False),
        ("ple", "gbdt", "income", -0.004, -0.006, -0.002, 0.01, True),
        ("mmoe", "gbdt", "income", -0.010, -0.013, -0.007, 0.001, True),
        ("ple", "single_task", "marital", 0.0, -0.001, 0.001, 1.0, False),  # another task
        ("single_task", "gbdt", "income", -0.02, -0.03, -0.01, 0.001, True),  # not multi-task
        ("ple", "mmoe", "income", 0.01, 0.005, 0.015, 0.001, True),  # not a reference
    ]
)
FULL_PAIRED = _paired(
    [
        ("ple", "single_task", "income", 0.0002, -0.0003, 0.0007, 1.0, False),
        ("mmoe", "single_task", "income", -0.0001, -0.0005, 0.0003, 1.0, False),
        ("ple", "gbdt", "income", -0.001, -0.0015, -0.0005, 0.02, True),
        ("mmoe", "gbdt", "income", -0.0012, -0.0017, -0.0007, 0.01, True),
    ]
)


def _partitions(value) -> dict:
    return {"income_0.1/": lambda: value}


@pytest.fixture
def study() -> tuple[pd.DataFrame, pd.DataFrame]:
    aucs = {"ple": 0.93, "mmoe": 0.92, "single_task": 0.918, "gbdt": 0.934}
    summary = summarise_fractions(
        _partitions(_table(aucs)),
        _partitions(_report(100)),
        _table({m: a + 0.02 for m, a in aucs.items()}),
        _report(1000),
        PREPROCESS,
    )
    verdicts = fraction_verdicts(
        _partitions(SCARCE_PAIRED),
        _partitions(_report(100)),
        FULL_PAIRED,
        _report(1000),
        PREPROCESS,
        COMPARE,
    )
    return summary, verdicts


def test_summary_has_each_fraction_and_model_with_its_labelled_rows(study):
    summary, _ = study
    assert summary["fraction"].tolist() == [0.1] * 4 + [1.0] * 4
    assert summary["labelled_rows"].tolist() == [100] * 4 + [1000] * 4
    ple = summary[summary["model"] == "ple"].set_index("fraction")["auc"]
    assert ple.to_dict() == pytest.approx({0.1: 0.93, 1.0: 0.95})


def test_verdicts_keep_multi_task_models_against_the_references_on_the_task(study):
    _, verdicts = study
    assert set(verdicts["model"]) == {"ple", "mmoe"}
    assert set(verdicts["against"]) == {"single_task", "gbdt"}
    assert len(verdicts) == 8  # 2 models x 2 references x 2 fractions
    ple = verdicts[(verdicts["fraction"] == 0.1) & (verdicts["model"] == "ple")]
    assert ple.set_index("against")["difference"].to_dict() == {
        "gbdt": -0.004,
        "single_task": 0.012,
    }


def test_one_sentence_per_fraction_names_gains_losses_and_the_interval(study):
    summary, verdicts = study
    lines = scarce.findings(verdicts, summary, ["single_task", "gbdt"])
    assert len(lines) == 2
    assert lines[0].startswith(
        "- **10%** (100 labels): against single_task, significant gains: ple;"
    )
    assert "ple +0.0120 [+0.0080, +0.0160], Holm p = 0.001, significant" in lines[0]
    assert "against gbdt, significant gains: none; losses: mmoe, ple" in lines[0]
    assert "against single_task, significant gains: none; losses: none" in lines[1]
    assert "ple +0.0002 [-0.0003, +0.0007], Holm p = 1, within the noise" in lines[1]


def test_report_metrics_and_figure(study):
    summary, verdicts = study
    metrics, figure, page = report_fractions(summary, verdicts, PREPROCESS, COMPARE, {})
    assert metrics["auc_income"]["0.10"]["ple"] == pytest.approx(0.93)
    assert set(metrics["auc_income"]) == {"0.10", "1.00"}
    assert "| ple | 0.9300 ± 0.0010 | 0.9500 ± 0.0010 |" in page
    assert "| 10% | ple | single_task | +0.0120 [+0.0080, +0.0160] | 0.001 | yes |" in page
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["10%", "100%"]


@pytest.mark.parametrize("fractions", [{}, {"income": 0.1, "marital": 0.5}])
def test_the_study_needs_exactly_one_scarce_task(fractions):
    with pytest.raises(ConfigError, match="exactly one task"):
        scarce_task(PREPROCESS | {"label_fraction": fractions})
