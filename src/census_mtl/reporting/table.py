"""The comparison tables: the test metrics in one long table (model, task, metric, value, low,
high), the models' sizes and times one row each, and a wide view of both for spreadsheets."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from census_mtl.reporting.comparisons import better

METRIC_COLUMNS = ["model", "task", "metric", "value", "low", "high"]
# A task's headline metric by its type, and the other metrics reported beside it.
HEADLINE = {"binary": "auc", "regression": "mse"}
SECONDARY = {"auc": ("pr_auc", "log_loss"), "mse": ("r2", "mae")}
NAN = float("nan")


def headlines(types: Mapping[str, str]) -> dict[str, str]:
    """Each task's headline metric (``auc`` or ``mse``) from its type."""
    return {task: HEADLINE[kind] for task, kind in types.items()}


def _row(
    model: str, task: str, metric: str, value: float, low: float = NAN, high: float = NAN
) -> dict:
    return dict(zip(METRIC_COLUMNS, (model, task, metric, value, low, high), strict=True))


def _scored(model: str, task: str, metric: str, scores: Mapping[str, float]) -> dict:
    """A metric with its interval: ``scores`` holds ``metric``, ``metric_ci_low`` and ``_high``."""
    low, high = scores[f"{metric}_ci_low"], scores[f"{metric}_ci_high"]
    return _row(model, task, metric, scores[metric], low, high)


def _metric_rows(model: str, m: dict, scores: Mapping[str, str]) -> list[dict]:
    """A model's rows: each task's headline (mean over seeds, bootstrap interval), its standard
    deviation over seeds, the secondary metrics and the seed ensemble's headline."""
    rows = []
    for task, score in scores.items():
        test, ensemble = m["test"][task], m.get("ensemble", {}).get(task)
        rows.append(_scored(model, task, score, test))
        rows += [_row(model, task, k, test[k]) for k in (f"{score}_std", *SECONDARY[score])]
        if ensemble:
            rows.append(_scored(model, task, score, ensemble) | {"metric": f"ensemble_{score}"})
    return rows


def _gain_rows(paired: pd.DataFrame, models: list[str], scores: dict, baseline: str) -> list:
    """Each model's gain over ``baseline`` per task (for MSE the baseline's minus the model's,
    so that positive is better) with DeLong's interval, and its sign where Holm-significant."""
    against = paired[paired["b"] == baseline].set_index(["a", "task"])
    rows = []
    for model in models:
        for task, score in scores.items():
            if model == baseline:
                gain, low, high, sign = 0.0, NAN, NAN, 0
            elif (model, task) in against.index:
                r = against.loc[(model, task)]
                flip = -1.0 if score == "mse" else 1.0
                gain, low, high = (flip * r[k] for k in ("difference", "low", "high"))
                low, high = min(low, high), max(low, high)
                sign = int(r["significant"]) * (1 if better(r) else -1)
            else:
                continue
            rows += [
                _row(model, task, "gain", gain, low, high),
                _row(model, task, "gain_sign", sign),
            ]
    return rows


def metrics_table(
    metrics: Mapping[str, dict], paired: pd.DataFrame, scores: dict[str, str], baseline: str
) -> pd.DataFrame:
    """Every test figure of every model, one row each (``METRIC_COLUMNS``); ``scores``: each
    task's headline metric. With ``baseline`` among the models, each model's MTL gain."""
    rows = [row for name, m in metrics.items() for row in _metric_rows(name, m, scores)]
    if baseline in metrics and len(paired):
        rows += _gain_rows(paired, list(metrics), scores, baseline)
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def models_table(
    metrics: Mapping[str, dict], training: Mapping[str, dict], long: pd.DataFrame
) -> pd.DataFrame:
    """One row per model: size, training time, best epochs, seeds, inference speed and whether
    it shows the seesaw (a significant gain on one task, a significant loss on another)."""
    signs = long[long["metric"] == "gain_sign"].groupby("model")["value"]
    seesaw = (signs.max() > 0) & (signs.min() < 0)
    return pd.DataFrame(
        {
            "model": name,
            "parameters": m["parameters"],
            "seconds_per_epoch": training[name]["seconds_per_epoch"],
            "train_seconds": training[name].get("train_seconds", NAN),
            "best_epochs": ",".join(str(r["best_epoch"]) for r in training[name]["runs"]),
            "seeds": m["seeds"],
            "inference_rows_per_s": m["inference_rows_per_s"],
            "seesaw": bool(seesaw.get(name, False)),
        }
        for name, m in metrics.items()
    )


def wide_table(models: pd.DataFrame, long: pd.DataFrame) -> pd.DataFrame:
    """``models`` with a column per metric and task (``auc_income``, ``auc_ci_low_income``,
    ``auc_ci_high_income``, …), in the long table's order: ``compare_table.csv``."""
    names = {"value": "{}_{}", "low": "{}_ci_low_{}", "high": "{}_ci_high_{}"}
    order = long[["metric", "task"]].drop_duplicates().itertuples(index=False)
    columns = [
        (part, metric, task)
        for metric, task in order
        for part in names
        if long.loc[(long["metric"] == metric) & (long["task"] == task), part].notna().any()
    ]
    cells = long.pivot(index="model", columns=["metric", "task"], values=list(names))
    wide = cells.reindex(columns=columns)
    wide.columns = [names[part].format(metric, task) for part, metric, task in columns]
    return models.join(wide, on="model")
