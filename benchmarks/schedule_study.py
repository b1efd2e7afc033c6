"""Validation AUC against training time for one model and seed under training overrides: the
study of shorter schedules in docs/closing-the-gap.md, on the real data (``data/05_model_input``).

    python benchmarks/schedule_study.py --model ple --seed 1 \\
        --override '{"max_epochs": 4, "ema_decay": 0.99, "optimizer": {"learning_rate": 0.005}}'

The model and training settings are ``conf/base``'s (``training_defaults`` and the model's own
``training`` block), with ``--override`` deep-merged last by the same rule. Prints one JSON line:
the best epoch's validation score per task (AUC; R² for a regression task), the seconds ``fit``
took, and every epoch's scores and seconds. The test split is never read.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch
from kedro.config import OmegaConfigLoader

from census_mtl.config import training_settings
from census_mtl.metrics import score_name
from census_mtl.models import build_model
from census_mtl.models.registry import model_params
from census_mtl.training.data import training_inputs
from census_mtl.training.loop import fit


def study(model: str, override: dict, seed: int, data_dir: Path) -> dict:
    """Train ``model`` once with ``override`` and summarise its validation history."""
    parameters = OmegaConfigLoader("conf", base_env="base", default_run_env="local")["parameters"]
    train_frame = pd.read_parquet(data_dir / "train.parquet")
    validation_frame = pd.read_parquet(data_dir / "validation.parquet")
    layout = json.loads((data_dir / "feature_layout.json").read_text())
    data = training_inputs(train_frame, validation_frame, layout, parameters["preprocess"]["tasks"])
    tasks, types = data.tasks, data.types
    spec = parameters[model]
    params = model_params(spec["model"]["name"], spec["model"])
    settings = training_settings(
        parameters["training_defaults"],
        spec.get("training") or {},
        {"seeds": [seed]},
        override,
        tasks=tasks,
    )
    columns = {t: f"val_{score_name(kind)}_{t}" for t, kind in zip(tasks, types, strict=True)}
    torch.manual_seed(seed)
    network = build_model(params.name, data.layout, tasks, params, types, data.spaces)
    started = time.perf_counter()
    result = fit(network, data.train, data.validation, settings, seed, log_epochs=False)
    best = result.history[result.best_epoch - 1]
    return {
        "model": model,
        "override": override,
        "seed": seed,
        "best_epoch": result.best_epoch,
        "epochs": len(result.history),
        "fit_seconds": round(time.perf_counter() - started, 1),
        "validation_auc": {t: round(best[c], 5) for t, c in columns.items()},
        "curve": [
            {"seconds": round(row["seconds"], 1)}
            | {t: round(row[c], 5) for t, c in columns.items()}
            for row in result.history
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ple")
    parser.add_argument("--override", type=json.loads, default={})
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path("data/05_model_input"))
    args = parser.parse_args()
    print(json.dumps(study(args.model, args.override, args.seed, args.data_dir)))


if __name__ == "__main__":
    main()
