"""The comparison table: test AUC per task, MTL gain over single-task, seesaw flags."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def comparison_table(
    metrics: Mapping[str, dict], training: Mapping[str, dict], baseline: str, tolerance: float
) -> pd.DataFrame:
    """One row per model; AUC columns are means over seeds, gains are in AUC points.

    The MTL gain of a model on a task is its mean test AUC minus the single-task baseline's
    (the PLE paper's measure). A model that gains more than ``tolerance`` on one task while it
    loses more than ``tolerance`` on another shows the seesaw phenomenon.
    """
    rows = []
    for name, m in metrics.items():
        runs = training[name]["runs"]
        row = {
            "model": name,
            "parameters": m["parameters"],
            "seconds_per_epoch": training[name]["seconds_per_epoch"],
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
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    tasks = list(next(iter(metrics.values()))["test"])
    if baseline in table.index:
        for task in tasks:
            table[f"gain_{task}"] = table[f"auc_{task}"] - table.loc[baseline, f"auc_{task}"]
        gains = table[[f"gain_{t}" for t in tasks]]
        table["seesaw"] = (gains.max(axis=1) > tolerance) & (gains.min(axis=1) < -tolerance)
    return table.reset_index()
