"""What each task-balancing method costs per training step, against ``equal``, on the real data.

    python benchmarks/balancing_cost.py --out docs/benchmarks-balancing.json

The default PLE and Shared-Bottom of ``conf/base`` (their training settings, eager step) train
``--steps`` steps of batch 1,024 with every ``training_defaults.balancing.method``; all the
methods of a model take their turn, round after round (``--rounds``), so that the machine's
drift hits them alike. A method's figure is its median milliseconds per step and the median of
its ratio to ``equal`` in the same round. Needs the model input of ``make run``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import typing
from pathlib import Path

import pandas as pd
import torch
from kedro.config import OmegaConfigLoader

from census_mtl.atomic import atomic_path
from census_mtl.config import Training
from census_mtl.config.training import BalancingMethod
from census_mtl.models import FeatureLayout, build_model
from census_mtl.training.data import TensorData, to_tensors
from census_mtl.training.loss import MultiTaskLoss
from census_mtl.training.step import make_step

TASKS = ["income", "marital"]
METHODS = typing.get_args(BalancingMethod)


def step_function(model: str, method: str, train: TensorData, layout: FeatureLayout):
    """``run(order)``: the default ``model`` trained over the rows of ``order`` with ``method``."""
    parameters = OmegaConfigLoader("conf", base_env="base", default_run_env="local")["parameters"]
    spec = dict(parameters[model]["model"])
    torch.manual_seed(0)
    net = build_model(spec.pop("name"), layout, TASKS, spec)
    defaults = dict(parameters["training_defaults"])
    # every method on the eager step: compile: auto would compile `equal` alone
    settings = Training.model_validate(
        defaults | {"balancing": {"method": method}, "compile": False}
    )
    step = make_step(net, MultiTaskLoss.of(net, settings.loss), settings, len(train))
    net.train()
    return lambda order: step.epoch(train, order)


def measure(model: str, train: TensorData, layout: FeatureLayout, args) -> dict[str, dict]:
    """Milliseconds per step of every method, in turn, ``args.rounds`` rounds."""
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    runs = {m: step_function(model, m, train, layout) for m in METHODS}
    for run in runs.values():
        run(order[: 2 * 1024])  # warm-up
    times: dict[str, list[float]] = {m: [] for m in runs}
    rows = order[: args.steps * 1024]
    for _ in range(args.rounds):
        for method, run in runs.items():
            started = time.perf_counter()
            run(rows)
            times[method].append((time.perf_counter() - started) / args.steps * 1e3)
    return {
        method: {
            "ms_per_step": statistics.median(values),
            "ratio_to_equal": statistics.median(
                v / e for v, e in zip(values, times["equal"], strict=True)
            ),
            "rounds": values,
        }
        for method, values in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["ple", "share_bottom"])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path("data/05_model_input"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(2)
    layout = FeatureLayout.from_dict(
        json.loads((args.data_dir / "feature_layout.json").read_text())
    )
    train = to_tensors(pd.read_parquet(args.data_dir / "train.parquet"), TASKS, layout)
    results = {}
    for model in args.models:
        results[model] = measure(model, train, layout, args)
        for method, r in results[model].items():
            print(f"{model} {method}: {r['ms_per_step']:.1f} ms/step, {r['ratio_to_equal']:.2f}x")
    if args.out:
        payload = {"command": "python benchmarks/balancing_cost.py", "batch": 1024} | {
            "steps": args.steps,
            "rounds": args.rounds,
            "results": results,
        }
        with atomic_path(args.out) as part:
            part.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
