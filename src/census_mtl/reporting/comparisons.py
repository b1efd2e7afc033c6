"""Paired comparisons of the models on the test rows: which differences are real.

Every model against the single-task baseline and against the GBDT bar, and the focus model
(PLE) against every other: the test AUC difference of the seed-mean predictions, its 95 %
DeLong interval and p-value (for a regression task: the MSE difference and its paired
interval), Holm-adjusted over all comparisons and tasks, and the difference
of each seed on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from census_mtl.config.project import Compare
from census_mtl.metrics import labelled
from census_mtl.paired import delong, holm, paired_mse


def comparison_pairs(
    models: Sequence[str], settings: Compare, extra: Sequence[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """``(a, b)`` pairs, each once: model vs baseline, model vs bar, focus vs model, then
    ``extra`` (a blend vs its network)."""
    wanted = [(m, settings.baseline) for m in models]
    wanted += [(m, settings.bar) for m in models]
    wanted += [(settings.focus, m) for m in models] + list(extra)
    pairs, seen = [], set()
    for a, b in wanted:
        if a != b and a in models and b in models and frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            pairs.append((a, b))
    return pairs


def seed_columns(predictions: pd.DataFrame, task: str) -> dict[int, np.ndarray]:
    """Each seed's probabilities of ``task`` from an evaluation's ``test_predictions``."""
    prefix = f"p_{task}_seed"
    return {
        int(c.removeprefix(prefix)): predictions[c].to_numpy()
        for c in predictions.columns
        if c.startswith(prefix)
    }


def _mse(labels: np.ndarray, values: np.ndarray) -> float:
    return float(((values - labels) ** 2).mean())


SCORES = {"auc": roc_auc_score, "mse": _mse}


def _per_seed(labels: np.ndarray, a: dict, b: dict, metric: str) -> list[float]:
    score = SCORES[metric]
    return [
        score(*labelled(labels, a[s])) - score(*labelled(labels, b[s]))
        for s in sorted(set(a) & set(b))
    ]


def better(row: Mapping) -> bool:
    """Whether ``a`` scores better than ``b`` in a paired row (higher AUC, lower MSE)."""
    return row["difference"] > 0 if row["metric"] == "auc" else row["difference"] < 0


def _verdict(a: str, b: str, task: str, row: Mapping, alpha: float) -> str:
    head = (
        f"{a} vs {b}, {task}{' MSE' if row['metric'] == 'mse' else ''}: {row['difference']:+.4f} "
        f"[{row['low']:+.4f}, {row['high']:+.4f}], p = {row['p_holm']:.2g}"
    )
    if row["p_holm"] < alpha:
        return f"{head}: {a if better(row) else b} is better"
    if row["p"] < alpha:  # the unadjusted interval excludes 0, the family-wise test does not
        return f"{head}: not significant after Holm's correction (unadjusted p = {row['p']:.2g})"
    return f"{head}: no significant difference"


def paired_table(
    predictions: Mapping[str, pd.DataFrame],
    labels: pd.DataFrame,
    tasks: Mapping[str, str],
    settings: Compare,
    extra: Sequence[tuple[str, str]] = (),
) -> pd.DataFrame:
    """One row per comparison of ``comparison_pairs`` and task (``paired_rows``)."""
    pairs = comparison_pairs(list(predictions), settings, extra)
    return paired_rows(predictions, labels, tasks, pairs, settings.alpha)


def paired_rows(
    predictions: Mapping[str, pd.DataFrame],
    labels: pd.DataFrame,
    tasks: Mapping[str, str],
    pairs: Sequence[tuple[str, str]],
    alpha: float,
) -> pd.DataFrame:
    """One row per pair ``(a, b)`` of ``predictions``' models and task (``tasks``: name to
    type), on the task's labelled rows (``rows``), with Holm-adjusted p-values over all rows and
    a verdict: DeLong's test of AUC for a binary task, the paired MSE test otherwise."""
    rows = []
    for a, b in pairs:
        for task, kind in tasks.items():
            y = labels[f"y__{task}"].to_numpy(np.float64)
            seeds_a, seeds_b = (
                seed_columns(predictions[a], task),
                seed_columns(predictions[b], task),
            )
            mean_a, mean_b = np.mean(list(seeds_a.values()), 0), np.mean(list(seeds_b.values()), 0)
            metric = "auc" if kind == "binary" else "mse"
            paired = delong if metric == "auc" else paired_mse
            test = paired(*labelled(y, mean_a, mean_b))
            score_a, score_b = (
                (test.auc_a, test.auc_b) if metric == "auc" else (test.mse_a, test.mse_b)
            )
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "task": task,
                    "metric": metric,
                    "score_a": score_a,
                    "score_b": score_b,
                    "difference": test.difference,
                    "low": test.low,
                    "high": test.high,
                    "p": test.p,
                    "rows": int((~np.isnan(y)).sum()),
                    "per_seed": _per_seed(y, seeds_a, seeds_b, metric),
                }
            )
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p"].tolist())
    table["significant"] = table["p_holm"] < alpha
    table["verdict"] = [_verdict(r["a"], r["b"], r["task"], r, alpha) for _, r in table.iterrows()]
    return table
