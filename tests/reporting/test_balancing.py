"""Δm and the study's paired tables against hand computations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from census_mtl.reporting.balancing import delta_m, model_frames, study_pairs

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 400).astype(float)
R = RNG.normal(size=400)


def _predictions() -> pd.DataFrame:
    columns = {"y__click": Y, "y__spend": R}
    for name, noise in (("single_task__equal", 1.0), ("ple__equal", 0.8), ("ple__dwa", 1.2)):
        for seed in (1, 2):
            columns[f"p_click__{name}__seed{seed}"] = Y + noise * RNG.normal(size=400)
            columns[f"p_spend__{name}__seed{seed}"] = R + 0.5 * noise * RNG.normal(size=400)
    return pd.DataFrame(columns)


def test_delta_m_is_the_mean_signed_relative_change_over_single_task():
    predictions = _predictions()
    frames, types = model_frames(predictions), {"click": "binary", "spend": "regression"}
    table = delta_m(frames, predictions.filter(like="y__"), types, 200).set_index("model")

    def scores(name):
        mean = lambda task: predictions.filter(like=f"p_{task}__{name}__").mean(axis=1)  # noqa: E731
        return roc_auc_score(Y, mean("click")), float(((mean("spend") - R) ** 2).mean())

    (auc_b, mse_b), (auc, mse) = scores("single_task__equal"), scores("ple__equal")
    expected = 100 * ((auc - auc_b) / auc_b - (mse - mse_b) / mse_b) / 2
    assert np.isclose(table.loc["ple/equal", "delta_m"], expected)
    assert "single_task/equal" not in table.index
    assert (table["low"] < table["delta_m"]).all() and (table["delta_m"] < table["high"]).all()
    assert table.loc["ple/equal", "delta_m"] > 0 > table.loc["ple/dwa", "delta_m"]


def test_each_method_meets_equal_on_its_network_and_everything_single_task():
    frames = model_frames(_predictions())
    assert study_pairs(frames) == [
        ("ple/dwa", "ple/equal"),
        ("ple/equal", "single_task/equal"),
        ("ple/dwa", "single_task/equal"),
    ]
    assert json.dumps(sorted(frames["ple/dwa"])) == json.dumps(
        ["p_click_seed1", "p_click_seed2", "p_spend_seed1", "p_spend_seed2"]
    )
