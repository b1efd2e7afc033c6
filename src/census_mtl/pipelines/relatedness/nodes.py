"""Nodes of the ``relatedness`` pipeline: task pairs, every network on them, the report."""

from __future__ import annotations

import logging

import pandas as pd
from matplotlib.figure import Figure

from census_mtl.config import training_settings, validate
from census_mtl.config.project import Compare
from census_mtl.config.relatedness import Relatedness
from census_mtl.reporting import relatedness as report
from census_mtl.reporting.render import provenance
from census_mtl.training.relatedness import TASKS, held_out_labels, label_correlations, task_pairs
from census_mtl.training.relatedness import train_all as _train_all

logger = logging.getLogger(__name__)


def make_task_pairs(relatedness: dict) -> pd.DataFrame:
    """Train, validation and test rows of one synthetic task pair per correlation."""
    return task_pairs(validate(Relatedness, relatedness, "relatedness"))


def train_networks(
    relatedness_pairs: pd.DataFrame, relatedness: dict, training_defaults: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every network on every pair with every seed: test results and test predictions."""
    settings = validate(Relatedness, relatedness, "relatedness")
    training = training_settings(training_defaults, settings.training, tasks=list(TASKS))
    return _train_all(relatedness_pairs, settings, training)


def report_relatedness(
    relatedness_results: pd.DataFrame,
    relatedness_predictions: pd.DataFrame,
    relatedness_pairs: pd.DataFrame,
    relatedness: dict,
    compare: dict,
    run_info: dict,
) -> tuple[pd.DataFrame, pd.DataFrame, dict, Figure, str]:
    """Summary and paired tables, DVC metrics, the MSE-against-correlation figure, report."""
    settings = validate(Relatedness, relatedness, "relatedness")
    alpha = validate(Compare, compare, "compare").alpha
    summary = report.summary_table(relatedness_results)
    labels = held_out_labels(relatedness_pairs)
    paired = report.paired_against_single_task(relatedness_predictions, labels, alpha)
    checked = label_correlations(relatedness_pairs, settings)
    spec = settings.data
    data = (
        f"synthetic task pairs (d = {spec.dim}, c = {spec.scale}, {spec.sine_terms} sine "
        f"terms, noise {spec.noise_std}): {spec.train_rows:,} train, "
        f"{spec.validation_rows:,} validation and {spec.test_rows:,} test rows per "
        f"correlation (seed {spec.seed})"
    )
    header = [
        "# Task relatedness (MMoE paper, section 5.1): test MSE by correlation",
        "",
        provenance(run_info | {"data": data}, settings.seeds),
    ]
    page = report.markdown(summary, paired, checked, header)
    logger.info("Relatedness report: %s", "08_reporting/relatedness/report.md")
    return summary, paired, metrics_of(summary, checked), report.mse_figure(summary), page


def metrics_of(summary: pd.DataFrame, labels: pd.DataFrame) -> dict:
    """DVC metrics: mean test MSE per correlation, model and task; the labels' correlation."""
    mse = {
        f"{c:+.2f}": {
            r.model: {t: getattr(r, f"mse_{t}") for t in TASKS} for r in rows.itertuples()
        }
        for c, rows in summary.groupby("correlation", sort=False)
    }
    check = {
        f"{r.correlation:+.2f}": {"expected": r.expected, "measured": r.measured}
        for r in labels.itertuples()
    }
    return {"test_mse": mse, "label_correlation": check}
