"""The comparison table: test AUC per task (seeds and their ensemble), MTL gain, seesaw."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from census_mtl.reporting.comparisons import better

# The other metrics of a binary (AUC) and a regression (MSE) task.
SECONDARY = {"auc": ("pr_auc", "log_loss"), "mse": ("r2", "mae")}


def score_of(table: pd.DataFrame | pd.Series, task: str) -> str:
    """A task's headline metric in the table (or a row): ``auc`` (binary), ``mse`` (regression)."""
    return "auc" if f"auc_{task}" in table else "mse"


def _model_row(name: str, m: dict, training: dict) -> dict:
    runs = training["runs"]
    row = {
        "model": name,
        "parameters": m["parameters"],
        "seconds_per_epoch": training["seconds_per_epoch"],
        "train_seconds": training.get("train_seconds", float("nan")),
        "best_epochs": ",".join(str(r["best_epoch"]) for r in runs),
        "seeds": m["seeds"],
        "inference_rows_per_s": m["inference_rows_per_s"],
    }
    for task, t in m["test"].items():
        score = "auc" if "auc" in t else "mse"  # a binary or a regression task
        row |= {
            f"{score}_{task}": t[score],
            f"{score}_std_{task}": t[f"{score}_std"],
            f"{score}_ci_low_{task}": t[f"{score}_ci_low"],
            f"{score}_ci_high_{task}": t[f"{score}_ci_high"],
            **{f"{k}_{task}": t[k] for k in SECONDARY[score]},
        }
    for task, t in m.get("ensemble", {}).items():
        score = "auc" if "auc" in t else "mse"
        row |= {
            f"ensemble_{score}_{task}": t[score],
            f"ensemble_{score}_ci_low_{task}": t[f"{score}_ci_low"],
            f"ensemble_{score}_ci_high_{task}": t[f"{score}_ci_high"],
        }
    return row


def comparison_table(
    metrics: Mapping[str, dict],
    training: Mapping[str, dict],
    paired: pd.DataFrame,
    baseline: str,
) -> pd.DataFrame:
    """One row per model; AUC (MSE) columns are means over seeds, gains are paired differences.

    The MTL gain of a model on a task is the AUC difference of its seed-mean predictions to the
    single-task baseline's on the same rows, with its DeLong interval (for a regression task,
    the baseline's MSE minus the model's: positive is better, as for AUC); it counts as a gain or a
    loss only where the Holm-adjusted paired test is significant. A model with a significant
    gain on one task and a significant loss on another shows the seesaw phenomenon.
    """
    table = pd.DataFrame([_model_row(n, m, training[n]) for n, m in metrics.items()])
    table = table.set_index("model")
    tasks = list(next(iter(metrics.values()))["test"])
    against = paired[paired["b"] == baseline].set_index(["a", "task"]) if len(paired) else None
    if against is None or baseline not in table.index:
        return table.reset_index()
    for task in tasks:
        regression = score_of(table, task) == "mse"
        sources = (
            ("gain", "difference"),
            ("gain_low", "high" if regression else "low"),
            ("gain_high", "low" if regression else "high"),
        )
        for column, source in sources:
            itself = 0.0 if column == "gain" else float("nan")  # the baseline against itself
            sign = -1.0 if regression else 1.0  # lower MSE is the gain
            table[f"{column}_{task}"] = [
                sign * against[source].get((m, task), float("nan")) if m != baseline else itself
                for m in table.index
            ]
        table[f"gain_sign_{task}"] = [
            _sign(against, m, task) if m != baseline else 0 for m in table.index
        ]
    signs = table[[f"gain_sign_{t}" for t in tasks]]
    table["seesaw"] = (signs.max(axis=1) > 0) & (signs.min(axis=1) < 0)
    return table.reset_index()


def _sign(against: pd.DataFrame, model: str, task: str) -> int:
    """+1 for a significant gain, -1 for a significant loss, 0 otherwise."""
    if (model, task) not in against.index:
        return 0
    row = against.loc[(model, task)]
    return int(row["significant"]) * (1 if better(row) else -1)
