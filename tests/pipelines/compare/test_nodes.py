import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from census_mtl.pipelines.compare.nodes import compare_models
from census_mtl.reporting.table import comparison_table

TASKS = ("income", "marital")
AUCS = {"ple": (0.951, 0.9946), "share_bottom": (0.949, 0.9950), "single_task": (0.950, 0.9947)}


def fake_outputs(name: str, aucs: tuple[float, float]) -> dict:
    test = {
        task: {
            "auc": auc, "auc_std": 0.001, "auc_ci_low": auc - 0.003, "auc_ci_high": auc + 0.003,
            "pr_auc": 0.6, "log_loss": 0.2, "positive_rate": 0.06,
        }
        for task, auc in zip(TASKS, aucs, strict=True)
    }  # fmt: skip
    runs = [{"seed": s, "best_epoch": 3 + s, "validation_auc": {}} for s in (1, 2)]
    grid = np.linspace(0, 1, 5)
    return {
        f"{name}.test_metrics": {
            "model": name, "parameters": 1234, "seeds": 2, "inference_rows_per_s": 1e5,
            "test": test, "runs": [],
        },
        f"{name}.training_metrics": {"model": name, "seconds_per_epoch": 1.5, "runs": runs},
        f"{name}.training_history": pd.DataFrame(
            {"epoch": [1, 2, 1, 2], "seed": [1, 1, 2, 2],
             "val_auc_income": [0.9, 0.94, 0.91, 0.95], "val_auc_marital": [0.99] * 4}
        ),
        f"{name}.roc_curve": pd.DataFrame(
            {"fpr": grid, "tpr_income": np.sqrt(grid), "tpr_marital": grid**0.2}
        ),
    }  # fmt: skip


@pytest.fixture
def datasets() -> dict:
    merged = {}
    for name, aucs in AUCS.items():
        merged |= fake_outputs(name, aucs)
    return merged


def test_table_has_gains_over_single_task_and_flags_seesaw(datasets):
    metrics = {k.split(".")[0]: v for k, v in datasets.items() if k.endswith("test_metrics")}
    training = {k.split(".")[0]: v for k, v in datasets.items() if k.endswith("training_metrics")}
    table = comparison_table(metrics, training, "single_task", 0.0).set_index("model")
    assert table.loc["ple", "gain_income"] == pytest.approx(0.001)
    assert table.loc["ple", "gain_marital"] == pytest.approx(-0.0001)
    assert table.loc["ple", "seesaw"] and table.loc["share_bottom", "seesaw"]
    assert not table.loc["single_task", "seesaw"]
    tolerant = comparison_table(metrics, training, "single_task", 0.0002).set_index("model")
    assert not tolerant.loc["ple", "seesaw"]  # a 0.0001 loss is within the tolerance
    assert tolerant.loc["share_bottom", "seesaw"]  # -0.001 on income, +0.0003 on marital
    assert table.loc["ple", "best_epochs"] == "4,5"


def test_report_pages_and_figures(datasets, tmp_path):
    compare = {"baseline": "single_task", "seesaw_tolerance": 0.0, "report_dir": str(tmp_path)}
    compare["links"] = {}
    table, markdown, page, *figures = compare_models(compare, **datasets)
    assert list(table["model"]) == list(AUCS)
    assert len(figures) == 3 and all(isinstance(f, Figure) for f in figures)
    assert "| ple | 1,234 | 1.5 | 4,5 | 0.95100 ± 0.00100 [0.9480, 0.9540]" in markdown
    assert "![Test AUC by model and task](figures/auc_by_model.png)" in markdown
    assert "**seesaw**" in markdown
    assert page.count("data:image/png;base64,") == 3
    assert not re.search(r"(src|href)=['\"]https?://", page)  # self-contained: nothing fetched
    assert "<td>+0.10</td>" in page


def test_links_only_to_existing_pages(datasets, tmp_path):
    (tmp_path / "tuning").mkdir()
    (tmp_path / "tuning" / "history.html").write_text("<html></html>")
    links = {"optimisation history": "tuning/history.html", "missing": "tuning/nope.html"}
    compare = {"baseline": "single_task", "seesaw_tolerance": 0.0, "report_dir": str(tmp_path)}
    compare["links"] = links
    _, markdown, page, *_ = compare_models(compare, **datasets)
    assert "[optimisation history](tuning/history.html)" in markdown
    assert "nope.html" not in markdown and "nope.html" not in page
