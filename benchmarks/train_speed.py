"""Training speed of census-mtl against DeepCTR-Torch, torch-rechub and PaddleRec's networks in
PaddlePaddle, on the real data, every configuration in turn with the others in one run.

For each model and batch size every implementation (``--help`` lists them) gets its own worker
process, and the workers train one epoch each in turn, round after round, so that the machine's
drift hits all of them alike. Each trains ``--epochs`` epochs on the same rows; the first is a
warm-up (``torch.compile`` compiles there) and is reported apart; the time is the median of the
others. Then each reports test AUC, inference speed and its peak memory. The speed-up column
divides by the fastest peer library's row of the same model, batch size and seed. With
``--seeds`` every implementation is trained once per seed, seeded with it, and a second table
gives test AUC over the seeds and each row's difference from the fastest peer (Welch's
t-test). Networks and optimiser: PaddleRec's census configurations (``benchmarks/peers.py``);
2 CPU threads unless the implementation's name says otherwise.

    python benchmarks/train_speed.py --epochs 2 --out docs/benchmarks.json

The peers are not project dependencies: ``make bench`` installs them into ``.venv-bench``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from peers import TASKS, Data
from scipy.stats import ttest_ind
from sklearn.metrics import roc_auc_score

from census_mtl.atomic import atomic_path

IMPLS = {  # name: (what it is, CPU threads)
    "census-mtl": ("census-mtl, training.compile: false (eager)", 2),
    "census-mtl compiled": ("census-mtl, training.compile: true (fused, compiled step)", 2),
    "census-mtl default": ("census-mtl, training.compile: auto (the default)", 2),
    "DeepCTR-Torch dense": ("DeepCTR-Torch 0.3.0, one-hot row as one DenseFeat", 2),
    "DeepCTR-Torch fields": ("DeepCTR-Torch 0.3.0, a 4-wide embedding per field", 2),
    "torch-rechub": ("torch-rechub 0.9.0 model, one-hot DenseFeature, plain loop", 2),
    "PaddleRec 1 thread": ("PaddleRec's network, PaddlePaddle 3.3.1 dygraph", 1),
    "PaddleRec 2 threads": ("PaddleRec's network, PaddlePaddle 3.3.1 dygraph", 2),
    "naive PLE": ("one nn.Linear per expert in Python loops (PLE only; not a library)", 2),
}
OURS = ("census-mtl", "census-mtl compiled", "census-mtl default")
COMPILE = {"census-mtl": False, "census-mtl compiled": True, "census-mtl default": "auto"}
NOT_PEERS = (*OURS, "naive PLE")
OUR_NETWORKS = {  # PaddleRec's census sizes in census-mtl's parameters
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
MARK = "@bench "  # protocol lines on a worker's stdout; libraries print their own lines too


# --- worker side ---------------------------------------------------------------------------


def turn(report: dict) -> None:
    """Report to the driver, then wait until it says go (the driver gone: stop)."""
    print(MARK + json.dumps(report), flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit(0)


def ours(spec: dict, train: Data, epochs: int):
    """census-mtl's ``fit`` on its compact input; a turn after every epoch."""
    import torch

    from census_mtl.config import Training
    from census_mtl.models import FeatureLayout, build_model, predict
    from census_mtl.training.data import to_tensors
    from census_mtl.training.loop import fit

    layout = FeatureLayout.from_dict(train.layout)
    tensors = to_tensors(train.frame, TASKS, layout)
    name, params = OUR_NETWORKS[spec["model"]]
    seed = spec["seed"]
    torch.manual_seed(seed)
    network = build_model(name, layout, TASKS, params)
    config = Training.model_validate(
        {
            "device": spec["device"],
            "num_threads": IMPLS[spec["impl"]][1],
            "batch_size": spec["batch"],
            "max_epochs": epochs,
            "resume": False,
            "optimizer": {"name": "adam", "learning_rate": 1e-3},
            "early_stopping": {"metric": "mean_auc", "patience": epochs},
            "compile": COMPILE[spec["impl"]],
        }
    )
    validation = type(tensors)(tensors.x[:2048], tensors.y[:2048], tensors.w[:2048])
    last = {}
    turn({})

    def after_epoch(row: dict) -> None:  # keeps the last epoch's weights, as the peers do
        last.update({k: v.clone() for k, v in network.state_dict().items()})
        turn({"seconds": row["seconds"]})

    fit(network, tensors, validation, config, seed, on_epoch_end=after_epoch, log_epochs=False)
    network.load_state_dict(last)

    def probabilities(data: Data) -> np.ndarray:
        x = to_tensors(data.frame, TASKS, layout).x.to(spec["device"])
        return predict(network.to(spec["device"]), x, 8192).numpy()

    return probabilities


def peer(spec: dict, train: Data, epochs: int):
    """A peer trainer from ``peers.py``; a turn after every epoch."""
    import peers

    impl, model, batch, device, seed = (
        spec[k] for k in ("impl", "model", "batch", "device", "seed")
    )
    if impl.startswith("DeepCTR"):
        trainer = peers.DeepCTR(model, batch, train, device, impl.endswith("dense"), seed)
    elif impl == "torch-rechub":
        trainer = peers.rechub(model, train, batch, device, seed)
    elif impl == "naive PLE":
        trainer = peers.naive_ple(train, batch, device, seed)
    else:
        trainer = peers.PaddleLoop(model, train, batch, seed)
    turn({})
    for _ in range(epochs):
        started = time.perf_counter()
        trainer.epoch()
        turn({"seconds": time.perf_counter() - started})
    return trainer.probabilities


def work(spec: dict) -> None:
    """A worker: set up, train an epoch on every go, then report test AUC, inference speed and
    peak memory."""
    if not spec["impl"].startswith("Paddle"):
        import torch

        torch.set_num_threads(IMPLS[spec["impl"]][1])
    data_dir, epochs = Path(spec["data_dir"]), spec["epochs"]
    train, test = Data(data_dir, "train"), Data(data_dir, "test")
    train_and_report = ours if spec["impl"] in OURS else peer
    probabilities = train_and_report(spec, train, epochs)
    started = time.perf_counter()
    probs = probabilities(test)
    seconds = time.perf_counter() - started
    print(
        MARK
        + json.dumps(
            {
                "inference_rows_per_s": len(test.y) / seconds,
                "auc": {t: roc_auc_score(test.y[:, i], probs[:, i]) for i, t in enumerate(TASKS)},
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rows": len(train.y),
            }
        ),
        flush=True,
    )


# --- driver side ---------------------------------------------------------------------------


class Worker:
    """One implementation's process; its stderr goes to a temporary file (shown on failure)."""

    def __init__(self, spec: dict) -> None:
        self.spec, self.log = spec, tempfile.TemporaryFile("w+")  # noqa: SIM115 - the worker's
        threads = str(IMPLS[spec["impl"]][1])
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", json.dumps(spec)],
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        self.seconds: list[float] = []

    def read(self) -> dict:
        """The worker's next report; a dead worker raises with the end of its stderr."""
        for line in self.process.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])
        self.log.seek(0)
        raise RuntimeError(f"{self.spec['impl']} failed:\n{self.log.read()[-3000:]}")

    def go(self) -> dict:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return self.read()

    def epoch(self) -> None:
        self.seconds.append(self.go()["seconds"])

    def result(self) -> dict:
        """Test AUC, inference speed and memory, with the epochs' times."""
        final, spec = self.go(), self.spec
        result = {**spec, **final, "threads": IMPLS[spec["impl"]][1], "seconds": self.seconds}
        result["first_epoch_seconds"] = self.seconds[0]
        result["seconds_per_epoch"] = statistics.median(self.seconds[1:] or self.seconds)
        result["train_rows_per_s"] = result["rows"] / result["seconds_per_epoch"]
        return result


def compare(model: str, batch: int, seed: int, args: argparse.Namespace) -> list[dict]:
    """Every implementation of ``model`` at ``batch``, seeded with ``seed``, an epoch each in
    turn."""
    impls = [i for i in args.impls if i != "naive PLE" or model == "ple"]
    specs = [
        {
            "impl": i,
            "model": model,
            "batch": batch,
            "seed": seed,
            "epochs": args.epochs,
            "data_dir": str(args.data_dir),
            "device": args.device,
        }
        for i in impls
    ]
    workers = [Worker(s) for s in specs]
    live = [w for w in workers if _ok(w, w.read)]  # they set up side by side
    for _ in range(args.epochs):
        live = [w for w in live if _ok(w, w.epoch)]
    results = []
    live = [w for w in live if _ok(w, lambda w=w: results.append(w.result()))]
    for w in workers:
        w.process.kill()
        w.process.wait()
    return results


def _ok(worker: Worker, step) -> bool:
    """Run ``step()``; a failure is printed and drops the worker."""
    try:
        step()
        return True
    except (RuntimeError, KeyError, json.JSONDecodeError, BrokenPipeError) as error:
        print(f"{worker.spec['model']} batch {worker.spec['batch']}: {error}", file=sys.stderr)
        return False


def same_run(a: dict, b: dict) -> bool:
    """Whether two rows were trained in turn with each other (one model, batch and seed)."""
    return all(a[k] == b[k] for k in ("model", "batch", "seed"))


def table(results: list[dict]) -> str:
    """Markdown: one row per configuration, the speed-up over the fastest peer library of its
    run; a seed column when there are several seeds."""
    seeded = len({r["seed"] for r in results}) > 1
    lines = [
        "| model | batch |" + (" seed |" if seeded else "") + " implementation | threads "
        "| s/epoch | first epoch s | train rows/s | inference rows/s | peak RSS MB "
        "| test AUC income | test AUC marital | speed-up over the fastest peer |",
        "|---|---|" + ("---|" if seeded else "") + "---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        peers = [
            p["seconds_per_epoch"] for p in results if same_run(p, r) and p["impl"] not in NOT_PEERS
        ]
        ratio = f"{min(peers) / r['seconds_per_epoch']:.2f}x" if peers else ""
        lines.append(
            f"| {r['model']} | {r['batch']} |"
            + (f" {r['seed']} |" if seeded else "")
            + f" {r['impl']} | {r['threads']} "
            f"| {r['seconds_per_epoch']:.2f} | {r['first_epoch_seconds']:.2f} "
            f"| {r['train_rows_per_s']:,.0f} | {r['inference_rows_per_s']:,.0f} "
            f"| {r['peak_rss_mb']:,.0f} | {r['auc']['income']:.4f} | {r['auc']['marital']:.4f} "
            f"| {ratio} |"
        )
    return "\n".join(lines)


def seeds_table(results: list[dict]) -> str:
    """Markdown: test AUC over the seeds (mean ± standard deviation), and each row's difference
    from the fastest peer of its model and batch (least median s/epoch), Welch's t-test."""
    lines = [
        "| model | batch | implementation | seeds | median s/epoch | test AUC income "
        "| test AUC marital | income, difference to the fastest peer (p) | marital, the same |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["model"], r["batch"], r["impl"]), []).append(r)
    median = {k: statistics.median(r["seconds_per_epoch"] for r in v) for k, v in groups.items()}
    for (model, batch, impl), rows in groups.items():
        peers = [k for k in groups if k[:2] == (model, batch) and k[2] not in NOT_PEERS]
        fastest = groups[min(peers, key=median.__getitem__)] if peers else rows
        aucs = [([r["auc"][t] for r in rows], [r["auc"][t] for r in fastest]) for t in TASKS]
        cells = [f"{statistics.mean(a):.4f} ± {statistics.pstdev(a):.4f}" for a, _ in aucs]
        cells += [_difference(a, b) if fastest is not rows else "" for a, b in aucs]
        lines.append(
            f"| {model} | {batch} | {impl} | {len(rows)} "
            f"| {median[model, batch, impl]:.2f} | {' | '.join(cells)} |"
        )
    return "\n".join(lines)


def _difference(ours: list[float], theirs: list[float]) -> str:
    """Mean difference and Welch's two-sided p-value (blank with fewer than two values)."""
    if min(len(ours), len(theirs)) < 2:
        return ""
    p = ttest_ind(ours, theirs, equal_var=False).pvalue
    return f"{statistics.mean(ours) - statistics.mean(theirs):+.4f} ({p:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data/05_model_input"))
    parser.add_argument("--epochs", type=int, default=3, help="epochs each; the first is warm-up")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 1024])
    parser.add_argument("--models", nargs="+", default=list(OUR_NETWORKS), choices=OUR_NETWORKS)
    parser.add_argument(
        "--impls",
        nargs="+",
        default=list(IMPLS),
        choices=list(IMPLS),
        help="; ".join(f"{k}: {v[0]}" for k, v in IMPLS.items()),
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="a run of every implementation per seed, seeded with it",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="JSON results, rewritten after every group")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # a worker's configuration
    args = parser.parse_args()
    if args.worker:
        return work(json.loads(args.worker))
    results = []
    for batch, model, seed in itertools.product(args.batch_sizes, args.models, args.seeds):
        group = compare(model, batch, seed, args)
        results += group
        print(table(group), file=sys.stderr)
        if args.out:  # after every group: an interrupted run keeps what it has
            with atomic_path(args.out) as part:
                part.write_text(json.dumps(results, indent=2))
    print(table(results))
    if len(args.seeds) > 1:
        print("\n" + seeds_table(results))


if __name__ == "__main__":
    main()
