"""Nodes of the ``scarce`` pipeline: the fraction runs' reports gathered into one study."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import pandas as pd
from matplotlib.figure import Figure

from census_mtl.config import ConfigError, validate
from census_mtl.config.project import Compare, Preprocess
from census_mtl.reporting import scarce as report

logger = logging.getLogger(__name__)

FULL = "full"  # the default comparison: every label kept


def scarce_task(preprocess: dict) -> str:
    """The one task whose training labels the study thins (``preprocess.label_fraction``)."""
    tasks = list(validate(Preprocess, preprocess, "preprocess").label_fraction)
    if len(tasks) != 1:
        raise ConfigError(
            f"preprocess.label_fraction: the scarce study needs exactly one task, got {tasks}"
        )
    return tasks[0]


def _runs(partitions: Mapping[str, Callable], full: object) -> dict[str, object]:
    """Each fraction run's file (loaded), plus the full-label run's under ``FULL``."""
    return {run: load() for run, load in sorted(partitions.items())} | {FULL: full}


def summarise_fractions(
    scarce_tables: Mapping[str, Callable],
    scarce_data_reports: Mapping[str, Callable],
    compare_table: pd.DataFrame,
    data_report: dict,
    preprocess: dict,
) -> pd.DataFrame:
    """Per fraction and model: the scarce task's mean test AUC, its std, the labelled rows."""
    return report.summary_table(
        _runs(scarce_tables, compare_table),
        _runs(scarce_data_reports, data_report),
        scarce_task(preprocess),
    )


def fraction_verdicts(
    scarce_paired: Mapping[str, Callable],
    scarce_data_reports: Mapping[str, Callable],
    paired_comparisons: pd.DataFrame,
    data_report: dict,
    preprocess: dict,
    compare: dict,
) -> pd.DataFrame:
    """Each multi-task model against single-task and the GBDT (``compare.baseline``, ``bar``)
    on the scarce task, per fraction, from each run's paired tests."""
    settings = validate(Compare, compare, "compare")
    return report.verdicts(
        _runs(scarce_paired, paired_comparisons),
        _runs(scarce_data_reports, data_report),
        scarce_task(preprocess),
        [settings.baseline, settings.bar],
    )


def report_fractions(
    scarce_summary: pd.DataFrame,
    scarce_verdicts: pd.DataFrame,
    preprocess: dict,
    compare: dict,
    run_info: dict,
) -> tuple[dict, Figure, str]:
    """DVC metrics (AUC per fraction and model), the AUC-against-fraction figure, the report."""
    task = scarce_task(preprocess)
    settings = validate(Compare, compare, "compare")
    header = [
        f"# Scarce labels: test AUC of {task} against the share of its training labels",
        "",
        f"Gathered {run_info.get('date', '?')} at commit {run_info.get('commit', '?')} from one "
        "run per fraction; each run's own report (income_<fraction>/compare_report.md, and "
        "data/08_reporting/ for every label) names its commit, data and seeds.",
    ]
    page = report.markdown(
        scarce_summary, scarce_verdicts, [settings.baseline, settings.bar], header
    )
    metrics = {
        f"{fraction:.2f}": dict(zip(rows["model"], rows["auc"], strict=True))
        for fraction, rows in scarce_summary.groupby("fraction", sort=True)
    }
    logger.info("Scarce-label report: data/scarce/08_reporting/report.md")
    return {f"auc_{task}": metrics}, report.auc_figure(scarce_summary, task), page
