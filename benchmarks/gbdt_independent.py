"""An independent tuning of the GBDT baseline: can another tuner beat the project's default?

    python benchmarks/gbdt_independent.py --out docs/gbdt-independent.json

Optuna's LightGBM tuner (``optuna_integration.lightgbm.LightGBMTuner``: stepwise over feature
fraction, leaves, bagging, regularisation and rows per leaf, as its users run it) tunes one
booster per task on the project's split and tree columns, with and without the sample weights,
selecting on validation only. Its best booster per task and the project's default GBDT
(``conf/base``, through ``fit_gbdt``) then train with each seed; the output holds both sides'
validation and test AUC per seed and DeLong's paired test of their seed-mean test scores.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
from kedro.config import OmegaConfigLoader
from optuna_integration.lightgbm import LightGBMTuner
from sklearn.metrics import roc_auc_score

from census_mtl.atomic import write_bytes
from census_mtl.config import training_settings
from census_mtl.models.gbdt import BoostedTrees, tree_columns
from census_mtl.models.registry import model_params
from census_mtl.paired import delong
from census_mtl.provenance import commit
from census_mtl.training.data import TensorData, to_tensors, training_inputs
from census_mtl.training.gbdt import fit_gbdt

PATIENCE = 100  # rounds without a better validation AUC, as the project stops


@dataclass
class TaskSets:
    """One task's labelled rows: LightGBM's training and validation sets, and the arrays."""

    train: lgb.Dataset
    validation: lgb.Dataset
    arrays: dict[str, tuple[np.ndarray, np.ndarray]]  # split: (x, y)


def task_sets(data: dict[str, TensorData], column: int, layout, weighted: bool) -> TaskSets:
    """The task in label ``column``, on the trees' columns, rows weighted or not."""
    columns, categorical = tree_columns(layout)
    arrays, weights = {}, {}
    for split, tensors in data.items():
        y = tensors.y[:, column].numpy()
        rows = ~np.isnan(y)
        arrays[split] = (tensors.x.numpy()[rows][:, columns].astype(np.float64), y[rows])
        weights[split] = tensors.w.numpy()[rows] if weighted else None
    train = lgb.Dataset(*arrays["train"], weight=weights["train"], categorical_feature=categorical)
    validation = lgb.Dataset(
        *arrays["validation"], categorical_feature=categorical, reference=train
    )
    return TaskSets(train, validation, arrays)


def tune(sets: TaskSets, threads: int, seed: int, rounds: int) -> tuple[dict, float]:
    """The tuner's best parameters for one task and their validation AUC."""
    params = {
        "objective": "binary",
        "metric": "auc",
        "learning_rate": 0.05,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": threads,
    }
    tuner = LightGBMTuner(
        params,
        sets.train,
        valid_sets=[sets.validation],
        num_boost_round=rounds,
        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
        optuna_seed=seed,
        show_progress_bar=False,
    )
    tuner.run()
    return tuner.best_params, float(tuner.best_score)


def refit(params: dict, sets: TaskSets, seed: int, rounds: int) -> tuple[float, np.ndarray]:
    """One seeded fit of ``params``: its validation AUC and test probabilities."""
    booster = lgb.train(
        params | {"seed": seed},
        sets.train,
        num_boost_round=rounds,
        valid_sets=[sets.validation],
        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
    )
    x, y = sets.arrays["validation"]
    validation = roc_auc_score(y, booster.predict(x, num_iteration=booster.best_iteration))
    return float(validation), booster.predict(
        sets.arrays["test"][0], num_iteration=booster.best_iteration
    )


def independent(data, layout, task: int, args: argparse.Namespace) -> dict:
    """The tuner's choice for one task (weights on or off, by validation) and its seeds."""
    tried = {}
    for weighted in (False, True):
        sets = task_sets(data, task, layout, weighted)
        params, score = tune(sets, args.threads, args.seeds[0], args.rounds)
        tried[weighted] = {"params": params, "validation_auc": score, "sets": sets}
    weighted = max(tried, key=lambda w: tried[w]["validation_auc"])
    chosen = tried[weighted]
    fits = [refit(chosen["params"], chosen["sets"], s, args.rounds) for s in args.seeds]
    return {
        "params": chosen["params"] | {"use_sample_weight": weighted},
        "tuning_validation_auc": {str(w).lower(): t["validation_auc"] for w, t in tried.items()},
        "validation_auc": [v for v, _ in fits],
        "test_probabilities": [p for _, p in fits],
        "test_labels": chosen["sets"].arrays["test"][1],
    }


def project_default(data, parameters: dict, tasks: list[str], layout, seeds) -> dict:
    """The project's default GBDT per seed: each task's validation AUC and test scores."""
    params = model_params("gbdt", parameters["gbdt"]["model"])
    settings = training_settings(
        parameters["training_defaults"], parameters["gbdt"]["training"], tasks=tasks
    )
    out = {task: {"validation_auc": [], "test_probabilities": []} for task in tasks}
    for seed in seeds:
        models, best, history = fit_gbdt(
            params, settings, seed, tasks, layout, data["train"], data["validation"]
        )
        probabilities = BoostedTrees(models, layout, tasks).predict(data["test"].x.numpy())
        for i, task in enumerate(tasks):
            out[task]["validation_auc"].append(history[best[task] - 1][f"val_auc_{task}"])
            y = data["test"].y[:, i].numpy()
            out[task]["test_probabilities"].append(probabilities[~np.isnan(y), i])
    return out


def summary(ours: dict, theirs: dict) -> dict:
    """Both sides' AUCs per seed and the paired test of their seed-mean test scores."""
    labels = theirs["test_labels"]
    test = {
        side: [float(roc_auc_score(labels, p)) for p in result["test_probabilities"]]
        for side, result in (("default", ours), ("independent", theirs))
    }
    paired = delong(
        labels,
        np.mean(theirs["test_probabilities"], axis=0),
        np.mean(ours["test_probabilities"], axis=0),
    )
    return {
        "independent_params": theirs["params"],
        "independent_tuning_validation_auc": theirs["tuning_validation_auc"],
        "validation_auc": {
            "default": ours["validation_auc"],
            "independent": theirs["validation_auc"],
        },
        "test_auc": test,
        "test_auc_mean": {side: float(np.mean(v)) for side, v in test.items()},
        "independent_minus_default": {
            "difference": paired.difference,
            "low": paired.low,
            "high": paired.high,
            "p": paired.p,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("data/05_model_input"))
    parser.add_argument("--env", default="local", help="the Kedro environment of the defaults")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3000, help="boosting rounds at most")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    loader = OmegaConfigLoader(
        "conf", base_env="base", default_run_env=args.env, merge_strategy={"parameters": "soft"}
    )
    parameters = loader["parameters"]
    frames = {s: pd.read_parquet(args.data / f"{s}.parquet") for s in ("train", "validation")}
    layout = json.loads((args.data / "feature_layout.json").read_text())
    inputs = training_inputs(
        frames["train"], frames["validation"], layout, parameters["preprocess"]["tasks"]
    )
    test = to_tensors(pd.read_parquet(args.data / "test.parquet"), inputs.tasks, inputs.layout)
    data = {"train": inputs.train, "validation": inputs.validation, "test": test}
    ours = project_default(data, parameters, inputs.tasks, inputs.layout, args.seeds)
    results = {}
    for i, task in enumerate(inputs.tasks):
        theirs = independent(data, inputs.layout, i, args)
        results[task] = summary(ours[task], theirs)
        row = results[task]["independent_minus_default"]
        print(
            f"{task}: independent - default = {row['difference']:+.5f} "
            f"[{row['low']:+.5f}, {row['high']:+.5f}], p = {row['p']:.3f}"
        )
    result = {"command": "python benchmarks/gbdt_independent.py", "commit": commit(Path.cwd())}
    result |= {"seeds": args.seeds, "results": results}
    write_bytes(args.out, (json.dumps(result, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
