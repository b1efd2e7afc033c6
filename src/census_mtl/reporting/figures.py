"""Matplotlib figures of the comparison report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def _panels(tasks: Sequence[str], width: float, height: float) -> tuple[Figure, list]:
    """A figure with one panel per task, side by side."""
    fig, axes = plt.subplots(1, len(tasks), figsize=(width * len(tasks), height), squeeze=False)
    return fig, list(zip(axes[0], tasks, strict=True))


def auc_by_model(long: pd.DataFrame, scores: Mapping[str, str]) -> Figure:
    """Mean test AUC (MSE of a regression task) per model and task as dots, the mean 95 %
    bootstrap interval as error bars; ``long``: the metrics table, ``scores``: each task's
    headline metric.

    Dots, not bars: the axis spans only the intervals, and a bar's length would then
    exaggerate the gaps; the axis label says what a grid step is worth.
    """
    fig, panels = _panels(list(scores), 5.5, 3.8)
    for ax, task in panels:
        score = scores[task]
        rows = long[(long["task"] == task) & (long["metric"] == score)]
        value = rows["value"]
        errors = [value - rows["low"], rows["high"] - value]
        ax.errorbar(rows["model"], value, yerr=errors, fmt="o", capsize=4, color="#4C72B0")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylabel(f"test {score.upper()} (axis zoomed to the intervals)")
        ax.set_title(f"{task}: test {score.upper()}, 95 % CI")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def roc_curves(curves: Mapping[str, pd.DataFrame], tasks: Sequence[str]) -> Figure:
    """ROC curves on the test split, one panel per binary task, one line per model."""
    tasks = [t for t in tasks if all(f"tpr_{t}" in c for c in curves.values())] or list(tasks[:1])
    fig, panels = _panels(tasks, 5, 4.5)
    for ax, task in panels:
        for name, curve in curves.items():
            if f"tpr_{task}" in curve:
                ax.plot(curve["fpr"], curve[f"tpr_{task}"], label=name, linewidth=1.2)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
        ax.set(title=f"{task}: ROC", xlabel="false-positive rate", ylabel="true-positive rate")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def training_curves(histories: Mapping[str, pd.DataFrame], tasks: Sequence[str]) -> Figure:
    """Validation AUC (R² of a regression task) per epoch, mean over seeds, one panel per task,
    one line per model."""
    fig, panels = _panels(tasks, 5, 4)
    for ax, task in panels:
        score = "auc"
        for name, history in histories.items():
            score = "auc" if f"val_auc_{task}" in history else "r2"
            mean = history.groupby("epoch")[f"val_{score}_{task}"].mean()
            ax.plot(mean.index, mean.to_numpy(), marker="o", markersize=3, label=name)
        label = "AUC" if score == "auc" else "R²"
        ax.set(title=f"{task}: validation {label}", xlabel="epoch", ylabel=label)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def gate_heatmaps(gates: Mapping[str, dict]) -> Figure:
    """Each gated model's mean gate weight per expert on the test split, one panel per level:
    rows are gates, columns experts; a blank cell is an expert the gate may not use."""
    panels = [(m, lv, g) for m, levels in gates.items() for lv, g in levels.items() if lv != "seed"]
    if not panels:
        fig = plt.figure(figsize=(5, 1))
        fig.text(0.5, 0.5, "no gated model in this comparison", ha="center")
        return fig
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, 1.3 + 0.9 * len(panels) * 1.6), squeeze=False
    )
    for ax, (model, level, by_gate) in zip(axes[:, 0], panels, strict=True):
        experts = list(next(iter(by_gate.values()))["mean_weight"])
        weights = np.array(
            [
                [g["mean_weight"][e] if g["allowed"][e] else np.nan for e in experts]
                for g in by_gate.values()
            ]
        )
        ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        for (i, j), w in np.ndenumerate(weights):
            if not np.isnan(w):
                ax.text(
                    j,
                    i,
                    f"{w:.2f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if w < 0.5 else "black",
                )
        ax.set_xticks(range(len(experts)), experts, fontsize=8, rotation=30)
        ax.set_yticks(range(len(by_gate)), [f"{g} gate" for g in by_gate], fontsize=8)
        ax.set_title(f"{model}, {level} (seed {gates[model]['seed']})", fontsize=9)
    fig.tight_layout()
    return fig


def conflict(histories: Mapping[str, pd.DataFrame]) -> Figure:
    """Per model (a row each), over the epochs and as the mean over seeds: the cosine of each
    pair of tasks' gradients on the shared parameters, each task's training loss over its
    first epoch's, and the weight the balancer gave each task."""
    kinds = {
        "grad_cos_": "gradient cosine",
        "loss_ratio_": "loss / first epoch's",
        "weight_": "task weight",
    }
    shown = {m: h for m, h in histories.items() if any(c.startswith("grad_cos_") for c in h)}
    if not shown:
        fig = plt.figure(figsize=(5, 1))
        fig.text(0.5, 0.5, "no model with shared parameters in this comparison", ha="center")
        return fig
    fig, axes = plt.subplots(len(shown), 3, figsize=(13, 2.6 * len(shown)), squeeze=False)
    for row, (model, history) in zip(axes, shown.items(), strict=True):
        mean = history.groupby("epoch").mean(numeric_only=True)
        for ax, (prefix, label) in zip(row, kinds.items(), strict=True):
            for column in (c for c in mean.columns if c.startswith(prefix)):
                name = column.removeprefix(prefix).replace("__", " vs ")
                ax.plot(mean.index, mean[column], marker="o", markersize=3, label=name)
            ax.set(title=f"{model}: {label}", xlabel="epoch")
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.legend(fontsize=7)
        row[0].axhline(0, color="grey", linewidth=0.8, linestyle=":")
    fig.tight_layout()
    return fig
