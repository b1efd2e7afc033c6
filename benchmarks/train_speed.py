"""Training speed against DeepCTR-Torch and a naive PLE, on the real data, in one script run.

Each configuration (implementation x model x batch size, see ``--help``) runs in its own
subprocess, so that its peak memory is its own; the parent prints a Markdown table and writes
JSON after every configuration. Networks follow PaddleRec's census configurations: PLE with
1 level, 3 experts per task, 2 shared experts, expert width 16, tower 8; MMoE with 8 experts of
width 16, tower 8; Shared-Bottom with a 117-unit bottom, tower 8. Adam, learning rate 1e-3,
2 CPU threads.

    python benchmarks/train_speed.py --epochs 5 --out docs/benchmarks.json
    python benchmarks/train_speed.py --device cuda --out docs/benchmarks-cuda.json

DeepCTR-Torch is not a project dependency: `pip install deepctr-torch==0.3.0 requests` into
the environment that runs this script (`make bench` does it in `.venv-bench`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from census_mtl.config import Training
from census_mtl.models import FeatureLayout, build_model, predict
from census_mtl.training.data import to_tensors
from census_mtl.training.loop import fit

TASKS = ["income", "marital"]
IMPLS = {
    "ours": "census-mtl, default settings (eager)",
    "compiled": "census-mtl with training.compile: true",
    "deepctr": "DeepCTR-Torch 0.3.0",
    "naive": "PLE with one nn.Linear per expert in Python loops (PLE only)",
}
OURS = {
    "ple": (
        "cgc",
        {
            "levels": [{"experts_per_task": 3, "shared_experts": 2, "expert_hidden_units": [16]}],
            "gate_hidden_units": [],
            "tower_hidden_units": [8],
        },
    ),
    "mmoe": (
        "mmoe",
        {
            "num_experts": 8,
            "expert_hidden_units": [16],
            "gate_hidden_units": [],
            "tower_hidden_units": [8],
        },
    ),
    "share_bottom": ("share_bottom", {"bottom_hidden_units": [117], "tower_hidden_units": [8]}),
}


class NaivePLE(nn.Module):
    """PaddleRec's construction: one ``nn.Linear`` per expert and gate, in Python loops."""

    def __init__(self, in_dim: int, tasks: list[str], experts: int, shared: int, width: int):
        super().__init__()
        self.tasks, n = tasks, len(tasks)
        self.task_experts = nn.ModuleList(nn.Linear(in_dim, width) for _ in range(n * experts))
        self.shared_experts = nn.ModuleList(nn.Linear(in_dim, width) for _ in range(shared))
        self.gates = nn.ModuleList(nn.Linear(in_dim, experts + shared) for _ in range(n))
        self.towers = nn.ModuleList(
            nn.Sequential(nn.Linear(width, 8), nn.ReLU(), nn.Linear(8, 1)) for _ in range(n)
        )
        self.experts = experts

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        shared = [torch.relu(e(x)) for e in self.shared_experts]
        out = {}
        for k, task in enumerate(self.tasks):
            own = [
                torch.relu(self.task_experts[k * self.experts + i](x)) for i in range(self.experts)
            ]
            stacked = torch.stack(own + shared, dim=1)
            weights = torch.softmax(self.gates[k](x), dim=-1).unsqueeze(-1)
            out[task] = self.towers[k]((weights * stacked).sum(1)).squeeze(-1)
        return out


def _load(data_dir: Path):
    layout = FeatureLayout.from_dict(json.loads((data_dir / "feature_layout.json").read_text()))
    frames = {s: pd.read_parquet(data_dir / f"{s}.parquet") for s in ("train", "test")}
    return layout, {s: to_tensors(f, TASKS, layout) for s, f in frames.items()}


def _ours(impl: str, model: str, batch: int, epochs: int, data_dir: Path, device: str) -> dict:
    layout, data = _load(data_dir)
    torch.manual_seed(0)
    if impl == "naive":
        network = NaivePLE(layout.one_hot_dim, TASKS, 3, 2, 16)
        train = type(data["train"])(
            layout.to_one_hot(data["train"].x), data["train"].y, data["train"].w
        )
        test_x = layout.to_one_hot(data["test"].x)
    else:
        name, params = OURS[model]
        network = build_model(name, layout, TASKS, params)
        train, test_x = data["train"], data["test"].x
    config = Training.model_validate(
        {
            "seeds": [0], "device": device, "num_threads": 2, "batch_size": batch,
            "max_epochs": epochs, "early_stopping": {"metric": "mean_auc", "patience": epochs},
            "optimizer": {"name": "adam", "learning_rate": 1e-3}, "resume": False,
            "compile": impl == "compiled",
        }
    )  # fmt: skip
    validation = type(train)(train.x[:2048], train.y[:2048], train.w[:2048])
    history = fit(network, train, validation, config, seed=0).history
    network.to(torch.device(device))
    seconds = [row["seconds"] for row in history]
    started = time.perf_counter()
    probs = predict(network, test_x.to(device), 8192).numpy()
    inference = time.perf_counter() - started
    return {
        "rows": len(train),
        "seconds": seconds,
        "inference_rows_per_s": len(test_x) / inference,
        "auc": {t: roc_auc_score(data["test"].y[:, i], probs[:, i]) for i, t in enumerate(TASKS)},
    }


def _deepctr(model: str, batch: int, epochs: int, data_dir: Path, device: str) -> dict:
    from deepctr_torch.inputs import DenseFeat, SparseFeat
    from deepctr_torch.models import MMOE, PLE, SharedBottom

    torch.set_num_threads(2)
    layout = json.loads((data_dir / "feature_layout.json").read_text())
    frames = {s: pd.read_parquet(data_dir / f"{s}.parquet") for s in ("train", "test")}
    columns = [SparseFeat(n, size, embedding_dim=4) for n, size in layout["categorical"].items()]
    columns += [DenseFeat(n, 1) for n in layout["numeric"]]
    names = list(layout["categorical"]) + layout["numeric"]

    def inputs(frame: pd.DataFrame) -> dict:
        return {
            n: frame[n].to_numpy(np.int64 if n in layout["categorical"] else np.float32)
            for n in names
        }

    common = {"task_types": ["binary", "binary"], "task_names": TASKS, "device": device, "seed": 0}
    if model == "ple":
        network = PLE(columns, shared_expert_num=2, specific_expert_num=3, num_levels=1,
                      expert_dnn_hidden_units=(16,), gate_dnn_hidden_units=(),
                      tower_dnn_hidden_units=(8,), **common)  # fmt: skip
    elif model == "mmoe":
        network = MMOE(columns, num_experts=8, expert_dnn_hidden_units=(16,),
                       gate_dnn_hidden_units=(), tower_dnn_hidden_units=(8,), **common)  # fmt: skip
    else:
        network = SharedBottom(columns, bottom_dnn_hidden_units=(117,),
                               tower_dnn_hidden_units=(8,), **common)  # fmt: skip
    network.compile(torch.optim.Adam(network.parameters(), lr=1e-3), "binary_crossentropy")
    x_train = inputs(frames["train"])
    y_train = frames["train"][[f"y__{t}" for t in TASKS]].to_numpy(np.float32)
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        network.fit(x_train, y_train, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        seconds.append(time.perf_counter() - started)
    started = time.perf_counter()
    probs = network.predict(inputs(frames["test"]), batch_size=8192)
    inference = time.perf_counter() - started
    labels = frames["test"][[f"y__{t}" for t in TASKS]].to_numpy()
    return {
        "rows": len(y_train),
        "seconds": seconds,
        "inference_rows_per_s": len(labels) / inference,
        "auc": {t: roc_auc_score(labels[:, i], probs[:, i]) for i, t in enumerate(TASKS)},
    }


def run_one(spec: dict) -> dict:
    """One configuration, in this process; adds the process's peak memory."""
    args = (spec["model"], spec["batch"], spec["epochs"], Path(spec["data_dir"]), spec["device"])
    impl = spec["impl"]
    result = _deepctr(*args) if impl == "deepctr" else _ours(impl, *args)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["seconds_per_epoch"] = statistics.median(result["seconds"])
    result["train_rows_per_s"] = result["rows"] / result["seconds_per_epoch"]
    return {**spec, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data/05_model_input"))
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (median reported)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 1024])
    parser.add_argument("--models", nargs="+", default=list(OURS), choices=list(OURS))
    parser.add_argument(
        "--impls",
        nargs="+",
        default=list(IMPLS),
        choices=list(IMPLS),
        help="; ".join(f"{k}: {v}" for k, v in IMPLS.items()),
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process's configuration
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    results = []
    for batch in args.batch_sizes:
        for model in args.models:
            for impl in args.impls:
                if impl == "naive" and model != "ple":
                    continue
                spec = {"impl": impl, "model": model, "batch": batch, "epochs": args.epochs,
                        "data_dir": str(args.data_dir), "device": args.device}  # fmt: skip
                env = {**os.environ, "OMP_NUM_THREADS": "2"}
                done = subprocess.run(
                    [sys.executable, __file__, "--one", json.dumps(spec)],
                    capture_output=True, text=True, env=env, check=False,
                )  # fmt: skip
                if done.returncode != 0:
                    print(f"{impl} {model} {batch}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                    continue
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
                r = results[-1]
                speed = f"{r['seconds_per_epoch']:7.2f} s/epoch"
                auc = f"AUC {r['auc']['income']:.4f}/{r['auc']['marital']:.4f}"
                print(f"{impl:8s} {model:12s} batch {batch:5d}: {speed}, {auc}", file=sys.stderr)
                if args.out:  # after every configuration: an interrupted run keeps what it has
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    args.out.write_text(json.dumps(results, indent=2))
    print(table(results))


def table(results: list[dict]) -> str:
    """Markdown: one row per configuration, with its speed-up over DeepCTR-Torch."""
    peer = {(r["model"], r["batch"]): r for r in results if r["impl"] == "deepctr"}
    lines = [
        "| model | batch | implementation | s/epoch | train rows/s | inference rows/s "
        "| peak RSS MB | test AUC income | test AUC marital | faster than DeepCTR-Torch by |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        other = peer.get((r["model"], r["batch"]))
        ratio = (
            f"{other['seconds_per_epoch'] / r['seconds_per_epoch']:.1f}x"
            if other and r is not other
            else ""
        )
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['impl']} | {r['seconds_per_epoch']:.2f} "
            f"| {r['train_rows_per_s']:,.0f} | {r['inference_rows_per_s']:,.0f} "
            f"| {r['peak_rss_mb']:,.0f} "
            f"| {r['auc']['income']:.4f} | {r['auc']['marital']:.4f} | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
