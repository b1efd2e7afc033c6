"""The compare node: every model's metrics, history and curves to one report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from census_mtl.config import validate
from census_mtl.config.project import Compare
from census_mtl.reporting.figures import auc_by_model, roc_curves, training_curves
from census_mtl.reporting.render import html_report, markdown_report
from census_mtl.reporting.table import comparison_table

KINDS = ("test_metrics", "training_metrics", "training_history", "roc_curve")
FIGURES = {
    "auc_by_model": "Test AUC by model and task",
    "roc_curves": "ROC curves on the test split",
    "training_curves": "Validation AUC per epoch",
}


def _by_kind(datasets: dict) -> dict[str, dict]:
    """``{"<model>.<kind>": data}`` to ``{kind: {model: data}}``, models in input order."""
    grouped: dict[str, dict] = {kind: {} for kind in KINDS}
    for key, data in datasets.items():
        model, _, kind = key.partition(".")
        grouped[kind][model] = data
    return grouped


def compare_models(
    compare: dict, **datasets: dict | pd.DataFrame
) -> tuple[pd.DataFrame, str, str, Figure, Figure, Figure]:
    """The comparison table, the Markdown and HTML reports, and their three figures."""
    settings = validate(Compare, compare, "compare")
    data = _by_kind(datasets)
    table = comparison_table(
        data["test_metrics"],
        data["training_metrics"],
        settings.baseline,
        settings.seesaw_tolerance,
    )
    tasks = list(next(iter(data["test_metrics"].values()))["test"])
    figures = {
        "auc_by_model": auc_by_model(table, tasks),
        "roc_curves": roc_curves(data["roc_curve"], tasks),
        "training_curves": training_curves(data["training_history"], tasks),
    }
    links = {
        name: path
        for name, path in settings.links.items()
        if (Path(settings.report_dir) / path).exists()
    }
    markdown = markdown_report(
        table, tasks, {FIGURES[k]: f"figures/{k}.png" for k in figures}, links
    )
    page = html_report(table, tasks, {FIGURES[k]: fig for k, fig in figures.items()}, links)
    return table, markdown, page, *figures.values()
