"""Tables, figure and plain-words findings of the task-relatedness benchmark."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from census_mtl.paired import holm, paired_mse

TASKS = ("task1", "task2")
BASELINE = "single_task"


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Test MSE and R² per correlation and model: mean and std over the seeds."""
    metrics = [f"{m}_{t}" for m in ("mse", "r2") for t in TASKS]
    grouped = results.groupby(["correlation", "model"], sort=False)[metrics]
    table = grouped.mean().join(grouped.std(ddof=0), rsuffix="_std")
    return table.reset_index()


def paired_against_single_task(
    predictions: pd.DataFrame, labels: Mapping[float, np.ndarray], alpha: float
) -> pd.DataFrame:
    """Every multi-task network against single-task on the same test rows, per correlation
    and task: the MSE difference of the seed-mean predictions, its 95 % interval, Holm's p."""
    means = predictions.groupby(["correlation", "model", "row"], sort=False).mean()
    rows = []
    for correlation, models in means.groupby(level="correlation", sort=False):
        by_model = {m: f.droplevel([0, 1]) for m, f in models.groupby(level="model", sort=False)}
        for model in (m for m in by_model if m != BASELINE):
            for j, task in enumerate(TASKS):
                test = paired_mse(
                    labels[correlation][:, j],
                    by_model[model][f"p_{task}"].to_numpy(),
                    by_model[BASELINE][f"p_{task}"].to_numpy(),
                )
                rows.append(
                    {"correlation": correlation, "model": model, "task": task, **vars(test)}
                )
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p"].tolist())
    table["verdict"] = [_sign(r, alpha) for _, r in table.iterrows()]
    return table


def _sign(row: pd.Series, alpha: float) -> str:
    if row["p_holm"] >= alpha:
        return "tie"
    return "gain" if row["difference"] < 0 else "loss"  # lower MSE is better


def findings(paired: pd.DataFrame) -> list[str]:
    """One plain sentence per correlation: where multi-task models gained or lost against
    single-task (significant after Holm), where the seesaw appears, and how PLE fared."""
    lines = []
    for correlation, rows in paired.groupby("correlation", sort=False):
        parts = []
        for verdict, word in (("gain", "lower"), ("loss", "higher")):
            hits = rows[rows["verdict"] == verdict]
            if len(hits):
                cells = "; ".join(
                    f"{r.model} on {r.task} ({r.difference:+.4f} [{r.low:+.4f}, {r.high:+.4f}])"
                    for r in hits.itertuples()
                )
                parts.append(f"{word} test MSE than single-task: {cells}")
        seesaw = [m for m, g in rows.groupby("model") if {"gain", "loss"} <= set(g["verdict"])]
        ple = rows[rows["model"] == "ple"]["verdict"].tolist()
        text = ". ".join(parts) if parts else "no network differs from single-task"
        text += f". Seesaw (a gain and a loss): {', '.join(seesaw) or 'none'}"
        text += f". PLE: {', '.join(f'{t} {v}' for t, v in zip(TASKS, ple, strict=True))}."
        lines.append(f"- **correlation {correlation:+.2f}**: {text}")
    return lines


def mse_figure(summary: pd.DataFrame) -> Figure:
    """Test MSE against task correlation, one panel per task, one line per model (± std)."""
    fig, axes = plt.subplots(1, len(TASKS), figsize=(11, 4), squeeze=False)
    for ax, task in zip(axes[0], TASKS, strict=True):
        for model, rows in summary.groupby("model", sort=False):
            ax.errorbar(
                rows["correlation"],
                rows[f"mse_{task}"],
                yerr=rows[f"mse_{task}_std"],
                marker="o",
                markersize=4,
                capsize=3,
                label=model,
            )
        ax.set_title(f"{task}: test MSE (mean ± std over seeds)")
        ax.set(xlabel="task correlation (cosine of the weight vectors)", ylabel="test MSE")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _mse_cell(r: pd.Series, task: str) -> str:
    return f"{r[f'mse_{task}']:.4f} ± {r[f'mse_{task}_std']:.4f}"


def markdown(
    summary: pd.DataFrame, paired: pd.DataFrame, labels: pd.DataFrame, header: Sequence[str]
) -> str:
    """The benchmark's report: MSE table, findings, the labels' correlation check."""
    correlations = list(dict.fromkeys(summary["correlation"]))
    columns = [f"{c:+.2f} {t}" for c in correlations for t in TASKS]
    lines = [
        *header,
        "",
        "| model | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for model, rows in summary.groupby("model", sort=False):
        by_corr = rows.set_index("correlation")
        cells = [_mse_cell(by_corr.loc[c], t) for c in correlations for t in TASKS]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Where multi-task learning gained or lost against single-task",
        "",
        "Paired on the same test rows (seed-mean predictions; difference of MSE, 95 % "
        "interval; significant after Holm's correction over every comparison):",
        "",
        *findings(paired),
        "",
        "## The labels' correlation",
        "",
        "| correlation (cosine of the weights) | expected label correlation | measured |",
        "|---|---|---|",
    ]
    lines += [
        f"| {r.correlation:+.2f} | {r.expected:.4f} | {r.measured:.4f} |"
        for r in labels.itertuples()
    ]
    lines += ["", "![Test MSE against task correlation](test_mse.png)", ""]
    return "\n".join(lines)
