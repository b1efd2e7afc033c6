"""The report's conclusions in plain words, each backed by a paired interval."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from census_mtl.reporting.comparisons import better


def mtl_findings(paired: pd.DataFrame, baseline: str, focus: str) -> list[str]:
    """Per task: which models gained or lost test AUC (MSE) against ``baseline`` (significant
    after Holm; differences are model minus baseline), then where the seesaw appears and
    whether ``focus`` (PLE) shows it."""
    rows = paired[paired["b"] == baseline] if len(paired) else paired
    if not len(rows):
        return [f"- No paired comparison with {baseline} (is it in this run?)."]
    lines = []
    for task, by_task in rows.groupby("task", sort=False):
        significant = by_task[by_task["significant"]]
        wins = significant.apply(better, axis=1).astype(bool)
        gained, lost = _list(significant[wins]), _list(significant[~wins])
        lines.append(
            f"- **{task}**: gained against {baseline}: {gained}; lost: {lost or 'none'}; every "
            "other difference is within the noise."
            if gained or lost
            else f"- **{task}**: no model differs significantly from {baseline}."
        )
    significant = rows[rows["significant"]]
    wins = significant.assign(win=significant.apply(better, axis=1).astype(bool))
    seesaw = [m for m, g in wins.groupby("a") if g["win"].any() and not g["win"].all()]
    lines.append(
        f"- **Seesaw** (a significant gain on one task and loss on another): "
        f"{', '.join(seesaw) or 'no model'}; {focus} "
        f"{'shows it' if focus in seesaw else 'does not'}."
    )
    return lines


def _list(rows: pd.DataFrame) -> str:
    return "; ".join(
        f"{r.a} ({r.difference:+.4f} [{r.low:+.4f}, {r.high:+.4f}])" for r in rows.itertuples()
    )


def gate_lines(gates: Mapping[str, dict]) -> list[str]:
    """One line per gate: how spread its weights are and which allowed experts it leaves."""
    lines = []
    for model, levels in gates.items():
        for level, by_gate in ((k, v) for k, v in levels.items() if k != "seed"):
            for gate, g in by_gate.items():
                unused = [e for e, flag in g["unused"].items() if flag]
                top = max(g["mean_weight"], key=g["mean_weight"].get)
                lines.append(
                    f"- {model} {level}, {gate} gate: entropy {g['entropy']:.2f} of "
                    f"{g['max_entropy']:.2f} (uniform); heaviest expert {top} "
                    f"({g['mean_weight'][top]:.2f}); unused: {', '.join(unused) or 'none'}"
                )
    return lines


def conflict_lines(histories: Mapping[str, pd.DataFrame]) -> list[str]:
    """A line per model with shared parameters: its tasks' gradient cosine at the first and the
    last epoch (mean over seeds), and the weights its balancer gave at the last."""
    lines = []
    for model, history in histories.items():
        pairs = [c for c in history.columns if c.startswith("grad_cos_")]
        if not pairs:
            continue
        mean = history.groupby("epoch").mean(numeric_only=True)
        cosines = "; ".join(
            f"{c.removeprefix('grad_cos_').replace('__', ' vs ')} {mean[c].iloc[0]:+.2f} → "
            f"{mean[c].iloc[-1]:+.2f}"
            for c in pairs
        )
        weights = ", ".join(
            f"{c.removeprefix('weight_')} {mean[c].iloc[-1]:.2f}"
            for c in mean.columns
            if c.startswith("weight_")
        )
        lines.append(f"- {model}: gradient cosine {cosines}; last weights {weights or 'n/a'}")
    return lines
