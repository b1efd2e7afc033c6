"""How much the tasks conflict at each share of income labels: which scarce-label setting the
balancing study takes (docs/balancing.md).

    python benchmarks/conflict_by_fraction.py --out docs/conflict-by-fraction.json

The default PLE (``conf/base``, ``equal``) trains once (seed 1) on the real model input of
``make run`` with the income labels kept as ``--env scarce`` keeps them (its ``label_seed``),
at each fraction; its history's per-epoch gradient cosine of income and marital on the shared
parameters (``training/conflict.py``) is averaged over the epochs. Lower is more conflict.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import pandas as pd
import torch
from kedro.config import OmegaConfigLoader

from census_mtl.atomic import write_bytes
from census_mtl.config import training_settings
from census_mtl.features import LABEL_PREFIX, keep_label_fraction
from census_mtl.models import build_model
from census_mtl.models.registry import model_params
from census_mtl.training.data import training_inputs
from census_mtl.training.loop import fit

FRACTIONS = (0.01, 0.03, 0.1, 0.3, 1.0)


def conflict_at(fraction: float, frames: dict, parameters: dict, seed: int) -> dict:
    """One PLE training at ``fraction`` of the income labels: its gradient cosine per epoch."""
    labels = frames["train"].filter(like=LABEL_PREFIX)
    kept = keep_label_fraction(labels, {"income": fraction}, parameters["label_seed"])
    data = training_inputs(
        frames["train"].assign(**kept), frames["validation"], frames["layout"], frames["tasks"]
    )
    params = model_params("ple", parameters["ple"]["model"])
    settings = training_settings(
        parameters["training_defaults"], parameters["ple"]["training"], tasks=data.tasks
    )
    torch.manual_seed(seed)
    network = build_model("ple", data.layout, data.tasks, params, data.types)
    started = time.perf_counter()
    result = fit(network, data.train, data.validation, settings, seed, log_epochs=False)
    cosines = [row["grad_cos_income__marital"] for row in result.history]
    return {
        "fraction": fraction,
        "income_labels": int(kept[f"{LABEL_PREFIX}income"].notna().sum()),
        "mean_grad_cos": sum(cosines) / len(cosines),
        "grad_cos_per_epoch": cosines,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path("data/05_model_input"))
    parser.add_argument("--fractions", type=float, nargs="+", default=FRACTIONS)
    parser.add_argument("--max-epochs", type=int, help="cut the training short (smoke tests)")
    args = parser.parse_args()
    loader = OmegaConfigLoader(
        "conf", base_env="base", default_run_env="scarce", merge_strategy={"parameters": "soft"}
    )
    parameters = loader["parameters"]
    parameters["label_seed"] = parameters["preprocess"]["label_seed"]
    if args.max_epochs:
        parameters["ple"]["training"]["max_epochs"] = args.max_epochs
    frames = {s: pd.read_parquet(args.data / f"{s}.parquet") for s in ("train", "validation")}
    frames["layout"] = json.loads((args.data / "feature_layout.json").read_text())
    frames["tasks"] = parameters["preprocess"]["tasks"]
    rows = [conflict_at(f, frames, parameters, args.seed) for f in args.fractions]
    for row in rows:
        print(f"income {row['fraction']:>5.0%}: gradient cosine {row['mean_grad_cos']:+.4f}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    result = {
        "command": "python benchmarks/conflict_by_fraction.py",
        "commit": commit.stdout.strip(),
        "seed": args.seed,
        "results": rows,
    }
    write_bytes(args.out, (json.dumps(result, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
