import html
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from census_mtl.config import validate
from census_mtl.config.project import Compare
from census_mtl.pipelines.compare.nodes import compare_models
from census_mtl.reporting.comparisons import comparison_pairs, paired_table
from census_mtl.reporting.table import metrics_table, models_table, wide_table

TASKS = ("income", "marital")
AUCS = {"ple": (0.951, 0.9946), "share_bottom": (0.949, 0.9950), "single_task": (0.950, 0.9947)}
ROWS = 2000
LABELS = pd.DataFrame(
    {
        f"y__{t}": (np.random.default_rng(i).random(ROWS) < 0.3).astype("float32")
        for i, t in enumerate(TASKS)
    }
)
# How strongly each model's predictions follow the labels: ple helps income and hurts marital.
SIGNAL = {"ple": (2.0, 0.6), "share_bottom": (1.0, 1.0), "single_task": (1.0, 1.0)}


def predictions(name: str) -> pd.DataFrame:
    rng = np.random.default_rng(len(name))
    noise = {t: rng.normal(0, 1, ROWS) for t in TASKS}  # shared by the seeds: paired rows
    return pd.DataFrame(
        {
            f"p_{t}_seed{s}": SIGNAL[name][j] * LABELS[f"y__{t}"]
            + noise[t]
            + rng.normal(0, 0.1, ROWS)
            for s in (1, 2)
            for j, t in enumerate(TASKS)
        }
    )


def fake_outputs(name: str, aucs: tuple[float, float]) -> dict:
    test = {
        task: {
            "auc": auc,
            "auc_std": 0.001,
            "auc_ci_low": auc - 0.003,
            "auc_ci_high": auc + 0.003,
            "pr_auc": 0.6,
            "log_loss": 0.2,
            "positive_rate": 0.06,
        }
        for task, auc in zip(TASKS, aucs, strict=True)
    }
    ensemble = {
        t: {"auc": v + 0.001, "auc_ci_low": v - 0.002, "auc_ci_high": v + 0.004}
        for t, v in zip(TASKS, aucs, strict=True)
    }
    runs = [{"seed": s, "best_epoch": 3 + s, "validation_auc": {}} for s in (1, 2)]
    grid = np.linspace(0, 1, 5)
    return {
        f"{name}.test_metrics": {
            "model": name,
            "parameters": 1234,
            "seeds": 2,
            "inference_rows_per_s": 1e5,
            "test": test,
            "ensemble": ensemble,
            "runs": [],
        },
        f"{name}.training_metrics": {
            "model": name,
            "seconds_per_epoch": 1.5,
            "train_seconds": 12.0,
            "runs": runs,
        },
        f"{name}.training_history": pd.DataFrame(
            {
                "epoch": [1, 2, 1, 2],
                "seed": [1, 1, 2, 2],
                "val_auc_income": [0.9, 0.94, 0.91, 0.95],
                "val_auc_marital": [0.99] * 4,
            }
        ),
        f"{name}.roc_curve": pd.DataFrame(
            {"fpr": grid, "tpr_income": np.sqrt(grid), "tpr_marital": grid**0.2}
        ),
        f"{name}.test_predictions": predictions(name),
    }


@pytest.fixture
def datasets() -> dict:
    merged = {}
    for name, aucs in AUCS.items():
        merged |= fake_outputs(name, aucs)
    return merged


def settings(tmp_path, **overrides) -> dict:
    base = {"baseline": "single_task", "bar": "share_bottom", "focus": "ple"}
    return base | {"report_dir": str(tmp_path), "links": {}} | overrides


def test_pairs_cover_baseline_bar_and_focus_once():
    compare = validate(Compare, {"report_dir": "x"}, "compare")
    pairs = comparison_pairs(["ple", "cgc", "single_task", "gbdt"], compare)
    assert pairs == [
        ("ple", "single_task"),
        ("cgc", "single_task"),
        ("gbdt", "single_task"),
        ("ple", "gbdt"),
        ("cgc", "gbdt"),
        ("ple", "cgc"),
    ]


def test_a_blend_is_also_compared_with_its_own_network_once():
    compare = validate(Compare, {"report_dir": "x"}, "compare")
    models = ["ple", "mmoe", "single_task", "gbdt", "blend"]
    pairs = comparison_pairs(models, compare, [("blend", "mmoe"), ("blend", "gbdt")])
    assert pairs[-1] == ("blend", "mmoe") and pairs.count(("blend", "gbdt")) == 1
    assert ("ple", "blend") in pairs and ("blend", "single_task") in pairs


def test_paired_table_finds_the_seesaw(datasets, tmp_path):
    compare = validate(Compare, settings(tmp_path), "compare")
    preds = {k.split(".")[0]: v for k, v in datasets.items() if k.endswith("test_predictions")}
    paired = paired_table(preds, LABELS, dict.fromkeys(TASKS, "binary"), compare).set_index(
        ["a", "b", "task"]
    )
    gain = paired.loc[("ple", "single_task", "income")]
    assert gain["difference"] > 0 and gain["significant"] and gain["low"] > 0
    assert "ple is better" in gain["verdict"] and len(gain["per_seed"]) == 2
    loss = paired.loc[("ple", "single_task", "marital")]
    assert loss["difference"] < 0 and loss["significant"]
    assert (paired["p_holm"] >= paired["p"]).all()
    metrics = {k.split(".")[0]: v for k, v in datasets.items() if k.endswith("test_metrics")}
    training = {k.split(".")[0]: v for k, v in datasets.items() if k.endswith("training_metrics")}
    scores = {"income": "auc", "marital": "auc"}
    long = metrics_table(metrics, paired.reset_index(), scores, "single_task")
    assert list(long.columns) == ["model", "task", "metric", "value", "low", "high"]
    cells = long.set_index(["model", "task", "metric"])
    assert cells.loc[("ple", "income", "gain"), "value"] == pytest.approx(gain["difference"])
    assert cells.loc[("ple", "income", "gain"), "low"] == pytest.approx(gain["low"])
    assert cells.loc[("ple", "marital", "gain_sign"), "value"] == -1
    assert cells.loc[("single_task", "income", "gain"), "value"] == 0
    models = models_table(metrics, training, long).set_index("model")
    assert models.loc["ple", "seesaw"] and not models.loc["share_bottom", "seesaw"]
    assert models.loc["ple", "best_epochs"] == "4,5"
    wide = wide_table(models.reset_index(), long).set_index("model")
    assert wide.loc["ple", "gain_income"] == pytest.approx(gain["difference"])
    assert wide.loc["ple", "auc_ci_low_income"] == cells.loc[("ple", "income", "auc"), "low"]
    assert "auc_std_ci_low_income" not in wide  # a figure without an interval: one column
    assert wide.columns[:8].tolist() == [*models.columns, "auc_income"]


RUN_INFO = {
    "date": "2026-01-02 03:04 UTC",
    "commit": "abc1234",
    "environment": "sample",
    "data": "toy",
}


def test_report_pages_and_figures(datasets, tmp_path):
    references = {"PLE paper": {"income": 0.9522, "marital": 0.9945}}
    long, table, paired, markdown, page, *figures = compare_models(
        settings(tmp_path, references=references), LABELS, RUN_INFO, **datasets
    )
    assert list(long["model"].unique()) == list(AUCS)
    header = "Run 2026-01-02 03:04 UTC, commit abc1234, Kedro environment 'sample'; data: toy"
    assert f"*{header}; seeds 1, 2.*" in markdown and html.escape(header) in page
    assert list(table["model"]) == list(AUCS)
    assert len(figures) == 5 and all(isinstance(f, Figure) for f in figures)
    assert "| ple | 1,234 | 12 | 1.50 | 4,5 | 0.95100 ± 0.00100 [0.9480, 0.9540]" in markdown
    assert "| ple, ensemble of 2 |" in markdown
    assert "| PLE paper (published) |" in markdown and "0.9522" in markdown
    assert "## Paired differences" in markdown and "ple vs single_task" in markdown
    assert "![Test AUC by model and task](figures/auc_by_model.png)" in markdown
    assert "**seesaw**" in markdown
    assert page.count("data:image/png;base64,") == 5
    assert "## Where multi-task learning gained or lost against single_task" in markdown
    assert "- **Seesaw** (a significant gain on one task and loss on another):" in markdown
    assert "## What the gates do\n\n- No gated model in this run." in markdown
    assert not re.search(r"(src|href)=['\"]https?://", page)  # self-contained: nothing fetched
    assert set(paired["verdict"].str.contains(" vs ")) == {True}


def test_links_only_to_existing_pages(datasets, tmp_path):
    (tmp_path / "tuning").mkdir()
    (tmp_path / "tuning" / "history.html").write_text("<html></html>")
    links = {"optimisation history": "tuning/history.html", "missing": "tuning/nope.html"}
    settings_ = settings(tmp_path, links=links)
    _, _, _, markdown, page, *_ = compare_models(settings_, LABELS, RUN_INFO, **datasets)
    assert "[optimisation history](tuning/history.html)" in markdown
    assert "nope.html" not in markdown and "nope.html" not in page


def test_verdict_says_when_only_the_unadjusted_test_is_significant():
    from census_mtl.reporting.comparisons import _verdict

    row = {"difference": -0.0011, "low": -0.002, "high": -0.0002, "p": 0.013, "p_holm": 0.3}
    row |= {"metric": "auc"}
    assert _verdict("ple", "gbdt", "income", row, 0.05) == (
        "ple vs gbdt, income: -0.0011 [-0.0020, -0.0002], p = 0.3: not significant after "
        "Holm's correction (unadjusted p = 0.013)"
    )
    assert _verdict("ple", "gbdt", "income", row | {"p_holm": 0.01}, 0.05).endswith(
        "gbdt is better"
    )
    mse = row | {"p_holm": 0.01, "metric": "mse"}  # a regression task: lower MSE is better
    assert _verdict("ple", "gbdt", "age", mse, 0.05).startswith("ple vs gbdt, age MSE: -0.0011")
    assert _verdict("ple", "gbdt", "age", mse, 0.05).endswith("ple is better")
