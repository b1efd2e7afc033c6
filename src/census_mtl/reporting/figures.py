"""Matplotlib figures of the comparison report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def _panels(tasks: Sequence[str], width: float, height: float) -> tuple[Figure, list]:
    """A figure with one panel per task, side by side."""
    fig, axes = plt.subplots(1, len(tasks), figsize=(width * len(tasks), height), squeeze=False)
    return fig, list(zip(axes[0], tasks, strict=True))


def auc_by_model(table: pd.DataFrame, tasks: Sequence[str]) -> Figure:
    """Mean test AUC per model and task as dots, the mean 95 % bootstrap interval as error bars.

    Dots, not bars: the axis spans only the intervals, and a bar's length would then
    exaggerate the gaps; the axis label says what a grid step is worth.
    """
    fig, panels = _panels(tasks, 5.5, 3.8)
    for ax, task in panels:
        auc = table[f"auc_{task}"]
        errors = [auc - table[f"auc_ci_low_{task}"], table[f"auc_ci_high_{task}"] - auc]
        ax.errorbar(table["model"], auc, yerr=errors, fmt="o", capsize=4, color="#4C72B0")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylabel("test AUC (axis zoomed to the intervals)")
        ax.set_title(f"{task}: test AUC, 95 % CI")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def roc_curves(curves: Mapping[str, pd.DataFrame], tasks: Sequence[str]) -> Figure:
    """ROC curves on the test split, one panel per task, one line per model."""
    fig, panels = _panels(tasks, 5, 4.5)
    for ax, task in panels:
        for name, curve in curves.items():
            ax.plot(curve["fpr"], curve[f"tpr_{task}"], label=name, linewidth=1.2)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
        ax.set(title=f"{task}: ROC", xlabel="false-positive rate", ylabel="true-positive rate")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def training_curves(histories: Mapping[str, pd.DataFrame], tasks: Sequence[str]) -> Figure:
    """Validation AUC per epoch, mean over seeds, one panel per task, one line per model."""
    fig, panels = _panels(tasks, 5, 4)
    for ax, task in panels:
        for name, history in histories.items():
            mean = history.groupby("epoch")[f"val_auc_{task}"].mean()
            ax.plot(mean.index, mean.to_numpy(), marker="o", markersize=3, label=name)
        ax.set(title=f"{task}: validation AUC", xlabel="epoch", ylabel="AUC")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
