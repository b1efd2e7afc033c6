"""The compare node: every model's metrics, history and curves to one report."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from census_mtl.config import NETWORKS, validate
from census_mtl.config.project import Compare
from census_mtl.features import LABEL_PREFIX
from census_mtl.models.funnel import ENTIRE, entire_space_labels
from census_mtl.reporting.comparisons import paired_table
from census_mtl.reporting.figures import (
    auc_by_model,
    conflict,
    gate_heatmaps,
    roc_curves,
    training_curves,
)
from census_mtl.reporting.findings import conflict_lines, gate_lines, mtl_findings
from census_mtl.reporting.render import html_report, markdown_report, provenance
from census_mtl.reporting.table import headlines, metrics_table, models_table, wide_table
from census_mtl.training.data import task_names

KINDS = ("test_metrics", "training_metrics", "training_history", "roc_curve", "test_predictions")
FIGURES = {
    "auc_by_model": "Test AUC by model and task",
    "roc_curves": "ROC curves on the test split",
    "training_curves": "Validation AUC per epoch (networks)",
    "gate_weights": "Mean gate weight per expert on the test split (gated models)",
    "conflict": "Task conflict per epoch: gradient cosine, loss ratios, balancer weights",
}
logger = logging.getLogger(__name__)


def _by_kind(datasets: dict) -> dict[str, dict]:
    """``{"<model>.<kind>": data}`` to ``{kind: {model: data}}``, models in input order."""
    grouped: dict[str, dict] = {kind: {} for kind in KINDS}
    for key, data in datasets.items():
        model, _, kind = key.partition(".")
        grouped[kind][model] = data
    return grouped


def _figures(
    long: pd.DataFrame, data: dict, scores: dict[str, str], trained: list[str]
) -> dict[str, Figure]:
    """The report's figures; ``trained``: the tasks validated during training (``scores``'
    tasks add the funnel steps over the entire space)."""
    networks, tasks = _networks(data), list(scores)
    return {
        "auc_by_model": auc_by_model(long, scores),
        "roc_curves": roc_curves(data["roc_curve"], tasks),
        "training_curves": training_curves(networks, trained),
        "gate_weights": gate_heatmaps(_gates(data)),
        "conflict": conflict(networks),
    }


def _networks(data: dict) -> dict[str, pd.DataFrame]:
    """The training histories of the networks (the GBDT's rounds and the blend's weights are
    not epochs)."""
    return {m: h for m, h in data["training_history"].items() if m in NETWORKS}


def _gates(data: dict) -> dict[str, dict]:
    return {
        m: metrics["gates"] for m, metrics in data["test_metrics"].items() if "gates" in metrics
    }


def entire_space_columns(frame: pd.DataFrame, spaces: dict[str, str]) -> pd.DataFrame:
    """``frame`` with each funnel step's entire-space label, ``y__<task>_entire``."""
    tasks = task_names(frame)
    columns = [f"{LABEL_PREFIX}{t}" for t in tasks]
    labels = entire_space_labels(frame[columns].to_numpy(np.float64), tasks, spaces)
    entire = {
        f"{LABEL_PREFIX}{t}{ENTIRE}": labels[:, j] for j, t in enumerate(tasks) if t in spaces
    }
    return frame.assign(**entire)


def _rows(test: dict) -> list[str]:
    """A line per task: the test rows its figures rest on (its labelled rows)."""
    return [
        f"- {task}: {scores['rows']:,} rows" for task, scores in test.items() if "rows" in scores
    ]


def _sections(settings: Compare, paired: pd.DataFrame, data: dict) -> dict[str, list[str]]:
    """The report's sections in words: gains and losses, gates, task conflict, test rows."""
    first = next(iter(data["test_metrics"].values()))
    conflicts = conflict_lines(_networks(data))
    return {
        f"Where multi-task learning gained or lost against {settings.baseline}": mtl_findings(
            paired, settings.baseline, settings.focus
        ),
        "What the gates do": gate_lines(_gates(data)) or ["- No gated model in this run."],
        "Task conflict (gradient cosine, first → last epoch, mean over seeds)": conflicts
        or ["- No model with shared parameters in this run."],
        "Test rows each task is scored on": _rows(first["test"]),
    }


def compare_models(
    compare: dict, model_input_test: pd.DataFrame, run_info: dict, **datasets: dict | pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str, str, *tuple[Figure, ...]]:
    """The metrics (long), comparison (wide) and paired-difference tables, the Markdown and HTML
    reports, the figures. ``run_info`` (date, commit, environment, data; from the project's
    hook) heads the report.
    """
    settings = validate(Compare, compare, "compare")
    data = _by_kind(datasets)
    first = next(iter(data["test_metrics"].values()))
    types = {t: "binary" if "auc" in m else "regression" for t, m in first["test"].items()}
    labels = entire_space_columns(model_input_test, first.get("spaces", {}))
    tested = data["test_metrics"].items()
    members = [(m, r["members"]["network"]) for m, r in tested if "members" in r]
    paired = paired_table(data["test_predictions"], labels, types, settings, members)
    scores = headlines(types)
    long = metrics_table(data["test_metrics"], paired, scores, settings.baseline)
    models = models_table(data["test_metrics"], data["training_metrics"], long)
    entire = {f"{t}{ENTIRE}" for t in first.get("spaces", {})}
    figures = _figures(long, data, scores, [t for t in types if t not in entire])
    links = {
        name: path
        for name, path in settings.links.items()
        if (Path(settings.report_dir) / path).exists()
    }
    tables = {"models": models, "metrics": long, "paired": paired}
    captions = {FIGURES[k]: f"figures/{k}.png" for k in figures}
    seeds = sorted({r["seed"] for m in data["training_metrics"].values() for r in m["runs"]})
    header, references = provenance(run_info, seeds), settings.references
    sections = _sections(settings, paired, data)
    markdown = markdown_report(tables, scores, captions, links, references, header, sections)
    embedded = {FIGURES[k]: fig for k, fig in figures.items()}
    page = html_report(tables, scores, embedded, links, references, header, sections)
    flat = paired.assign(per_seed=[" ".join(f"{d:+.5f}" for d in r) for r in paired["per_seed"]])
    logger.info("Report: %s (and .html)", Path(settings.report_dir) / "compare_report.md")
    return long, wide_table(models, long), flat, markdown, page, *figures.values()
