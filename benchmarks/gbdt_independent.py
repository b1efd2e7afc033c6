"""An independent tuning of the GBDT baseline: can another tuner beat the project's default?

    python benchmarks/gbdt_independent.py --out docs/gbdt-independent.json

Optuna's LightGBM tuner (``optuna_integration.lightgbm.LightGBMTuner``: stepwise over feature
fraction, leaves, bagging, regularisation and rows per leaf, as its users run it) tunes one
booster per task on the project's split and tree columns, with and without the sample weights,
selecting on validation only. Its best booster per task and the project's default GBDT
(``conf/base``, through ``fit_gbdt``) then train with each seed; the output holds both sides'
validation and test AUC per seed and DeLong's paired test of their seed-mean test scores.

``--also NAME JSON`` trains another configuration of the project's GBDT with every seed (the JSON
merged into the environment's ``gbdt`` section, e.g. the defaults before tuning:
``--also untuned '{"model": {"tasks": {"income": null, "marital": null}}}'``) and tests it
against the default in the same way. Beside the JSON (``--out``) it writes the same as a Markdown
table (``--out`` with ``.md``), which the docs include.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
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
from census_mtl.config.base import ConfigError, merge_settings
from census_mtl.models.gbdt import BoostedTrees, tree_columns
from census_mtl.models.registry import model_params
from census_mtl.paired import delong
from census_mtl.provenance import commit
from census_mtl.reporting.render import difference, markdown_table
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


def project_gbdt(data, section: dict, defaults: dict, tasks: list[str], layout, seeds) -> dict:
    """The project's GBDT of ``section`` (``model`` and ``training``) per seed: each task's
    validation AUC and test scores."""
    params = model_params("gbdt", section["model"])
    settings = training_settings(defaults, section.get("training") or {}, tasks=tasks)
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


def against(labels: np.ndarray, side: dict, default: dict) -> dict:
    """DeLong's paired test of ``side``'s seed-mean test scores minus the default's."""
    paired = delong(
        labels,
        np.mean(side["test_probabilities"], axis=0),
        np.mean(default["test_probabilities"], axis=0),
    )
    return {"difference": paired.difference, "low": paired.low, "high": paired.high, "p": paired.p}


def summary(ours: dict[str, dict], theirs: dict) -> dict:
    """Every side's AUCs per seed and the paired tests of their seed-mean test scores against
    the default's (``ours``: the project's configurations, ``default`` first)."""
    labels, default = theirs["test_labels"], ours["default"]
    sides = ours | {"independent": theirs}
    test = {
        side: [float(roc_auc_score(labels, p)) for p in result["test_probabilities"]]
        for side, result in sides.items()
    }
    return {
        "independent_params": theirs["params"],
        "independent_tuning_validation_auc": theirs["tuning_validation_auc"],
        "validation_auc": {side: result["validation_auc"] for side, result in sides.items()},
        "test_auc": test,
        "test_auc_mean": {side: float(np.mean(v)) for side, v in test.items()},
        "minus_default": {
            side: against(labels, result, default)
            for side, result in sides.items()
            if side != "default"
        },
    }


def configurations(default: dict, also: list[tuple[str, str]]) -> dict[str, dict]:
    """The project's GBDT sections to train: the default, then each ``--also``, checked before
    any training."""
    sections = {"default": default}
    for name, text in also:
        try:
            section = merge_settings(default, json.loads(text))
            model_params("gbdt", section["model"])
        except (json.JSONDecodeError, ConfigError) as error:
            raise SystemExit(f"Error: --also {name}: {error}") from None
        sections[name] = section
    return sections


def side_table(results: dict) -> str:
    """Per task and side: mean validation and test AUC over the seeds, and the paired
    difference of the seed-mean test scores from the default's."""
    head = ["task", "side", "validation AUC", "test AUC", "test minus default [95 %], p"]
    rows = []
    for task, row in results.items():
        for side, validation in row["validation_auc"].items():
            paired = row["minus_default"].get(side)
            versus = "(default)" if paired is None else difference(paired, 5, "p")
            test = row["test_auc_mean"][side]
            rows.append([task, side, f"{np.mean(validation):.5f}", f"{test:.5f}", versus])
    return markdown_table(head, rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("data/05_model_input"))
    parser.add_argument("--env", default="local", help="the Kedro environment of the defaults")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3000, help="boosting rounds at most")
    parser.add_argument(
        "--also",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "JSON"),
        help="another configuration of the project's GBDT, merged into its section",
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    loader = OmegaConfigLoader(
        "conf", base_env="base", default_run_env=args.env, merge_strategy={"parameters": "soft"}
    )
    parameters = loader["parameters"]
    sections = configurations(parameters["gbdt"], args.also)
    frames = {s: pd.read_parquet(args.data / f"{s}.parquet") for s in ("train", "validation")}
    layout = json.loads((args.data / "feature_layout.json").read_text())
    inputs = training_inputs(
        frames["train"], frames["validation"], layout, parameters["preprocess"]["tasks"]
    )
    test = to_tensors(pd.read_parquet(args.data / "test.parquet"), inputs.tasks, inputs.layout)
    data = {"train": inputs.train, "validation": inputs.validation, "test": test}
    ours = {
        name: project_gbdt(
            data, section, parameters["training_defaults"], inputs.tasks, inputs.layout, args.seeds
        )
        for name, section in sections.items()
    }
    results = {}
    for i, task in enumerate(inputs.tasks):
        theirs = independent(data, inputs.layout, i, args)
        results[task] = summary({name: side[task] for name, side in ours.items()}, theirs)
        for side, row in results[task]["minus_default"].items():
            print(f"{task}: {side} - default = {difference(row, 5, 'p')} (p)")
    command = shlex.join(["python", "benchmarks/gbdt_independent.py", *sys.argv[1:]])
    result = {"command": command, "commit": commit(Path.cwd())}
    result |= {"seeds": args.seeds, "also": dict(args.also), "results": results}
    write_bytes(args.out, (json.dumps(result, indent=2) + "\n").encode())
    write_bytes(args.out.with_suffix(".md"), side_table(results).encode())


if __name__ == "__main__":
    main()
