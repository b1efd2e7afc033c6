"""The comparison table: test AUC per task (seeds and their ensemble), MTL gain, seesaw."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


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
        row |= {
            f"auc_{task}": t["auc"],
            f"auc_std_{task}": t["auc_std"],
            f"auc_ci_low_{task}": t["auc_ci_low"],
            f"auc_ci_high_{task}": t["auc_ci_high"],
            f"pr_auc_{task}": t["pr_auc"],
            f"log_loss_{task}": t["log_loss"],
        }
    for task, t in m.get("ensemble", {}).items():
        row |= {
            f"ensemble_auc_{task}": t["auc"],
            f"ensemble_auc_ci_low_{task}": t["auc_ci_low"],
            f"ensemble_auc_ci_high_{task}": t["auc_ci_high"],
        }
    return row


def comparison_table(
    metrics: Mapping[str, dict],
    training: Mapping[str, dict],
    paired: pd.DataFrame,
    baseline: str,
) -> pd.DataFrame:
    """One row per model; AUC columns are means over seeds, gains are paired differences.

    The MTL gain of a model on a task is the AUC difference of its seed-mean predictions to the
    single-task baseline's on the same rows, with its DeLong interval; it counts as a gain or a
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
        for column, source in (("gain", "difference"), ("gain_low", "low"), ("gain_high", "high")):
            itself = 0.0 if column == "gain" else float("nan")  # the baseline against itself
            table[f"{column}_{task}"] = [
                against[source].get((m, task), itself if m == baseline else float("nan"))
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
    return int(row["significant"]) * (1 if row["difference"] > 0 else -1)
