"""Where a training step's time goes: milliseconds per step and the operators (or, compiled, the
generated kernels) that take it, on the real data (``data/05_model_input``).

    python benchmarks/profile_step.py --batch 32 --compile                   # PaddleRec's PLE
    python benchmarks/profile_step.py --batch 1024 --network default --compile  # conf/base's

``--network paddlerec`` (the default) is the census network of ``train_speed.py`` with its
optimiser; ``--network default`` is the model and training settings of ``conf/base`` (dropout,
weight average, optimiser). ``--steps`` steps (at most an epoch) are timed after three warm-up
steps (the compile), then 20 more run under ``torch.profiler``. The process's peak RSS before
and after the timed steps shows what the compiled step holds beyond eager's.

``--flops`` adds what bounds the step: the matrix-multiply FLOPs of one step's forward and
backward pass (``torch.utils.flop_counter``, the eager model), the rate the timed steps reach,
and the rate of a 2,048-square float32 matrix product on the same threads:

    python benchmarks/profile_step.py --batch 1024 --network default --compile --flops

``--alternate N`` profiles nothing: it builds the eager and the compiled step in one process and
times ``--steps`` steps of each in turn, N rounds, so that the machine's drift hits both:

    python benchmarks/profile_step.py --network default --alternate 5 --steps 60
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import pandas as pd
import torch
import torch._inductor.config as inductor
from kedro.config import OmegaConfigLoader
from torch.profiler import profile
from torch.utils.flop_counter import FlopCounterMode
from train_speed import OUR_NETWORKS

from census_mtl.config import Training
from census_mtl.models import FeatureLayout, build_model
from census_mtl.training.data import TensorData, to_tensors
from census_mtl.training.loss import MultiTaskLoss
from census_mtl.training.step import make_step

TASKS = ["income", "marital"]


def network_and_settings(
    model: str, network: str, layout: FeatureLayout
) -> tuple[torch.nn.Module, Training]:
    """The network and training settings to profile (see the module's docstring)."""
    torch.manual_seed(0)
    if network == "paddlerec":
        name, params = OUR_NETWORKS[model]
        settings = {"optimizer": {"name": "adam", "learning_rate": 1e-3}}
        return build_model(name, layout, TASKS, params), Training.model_validate(settings)
    parameters = OmegaConfigLoader("conf", base_env="base", default_run_env="local")["parameters"]
    spec = dict(parameters[model]["model"])
    net = build_model(spec.pop("name"), layout, TASKS, spec)
    return net, Training.model_validate(parameters["training_defaults"])


def peak_rss_mb() -> int:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def timed(run, rows: torch.Tensor) -> float:
    """Seconds that ``run(rows)`` takes."""
    started = time.perf_counter()
    run(rows)
    return time.perf_counter() - started


def epoch_function(
    args: argparse.Namespace, train: TensorData, layout: FeatureLayout, compiled: bool
):
    """``run(order)``: one pass over the rows of ``order`` in batches of ``args.batch``, by the
    reference step (``torch.optim``) or, ``compiled``, the fused step."""
    net, settings = network_and_settings(args.model, args.network, layout)
    loss = MultiTaskLoss(TASKS, settings.loss, ["binary", "binary"])
    settings = settings.model_copy(update={"batch_size": args.batch, "compile": compiled})
    step = make_step(net, loss, settings, len(train))
    return lambda order: step.epoch(train, order)


def step_flops(args: argparse.Namespace, train: TensorData, layout: FeatureLayout) -> int:
    """Matrix-multiply FLOPs of one training step's forward and backward pass."""
    net, settings = network_and_settings(args.model, args.network, layout)
    loss = MultiTaskLoss(TASKS, settings.loss, ["binary", "binary"])
    x, y, w = train.rows(torch.arange(args.batch))
    with FlopCounterMode(display=False) as counter:
        loss(net(x), y, w)[0].backward()
    return counter.get_total_flops()


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of a ``size``-square float32 matrix product (after a warm-up)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def alternate(
    args: argparse.Namespace, train: TensorData, layout: FeatureLayout, order: torch.Tensor
) -> None:
    """Eager and compiled steps in turn, ``args.alternate`` rounds of ``args.steps`` steps."""
    runs = {
        mode: epoch_function(args, train, layout, mode == "compiled")
        for mode in ("eager", "compiled")
    }
    times = {mode: [] for mode in runs}
    for run in runs.values():
        run(order[: 3 * args.batch])  # warm-up and compile
    steps = min(args.steps, len(train) // args.batch)
    for _ in range(args.alternate):
        for mode, run in runs.items():
            times[mode].append(timed(run, order[: steps * args.batch]) / steps * 1e3)
    for mode, values in times.items():
        rounds = " ".join(f"{v:.2f}" for v in values)
        print(
            f"{args.model} ({args.network}) batch {args.batch}, {mode}: ms/step {rounds}; "
            f"median {statistics.median(values):.2f}"
        )
    ratios = [e / c for e, c in zip(times["eager"], times["compiled"], strict=True)]
    print(
        f"eager / compiled, round by round: {' '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ple", choices=[*OUR_NETWORKS, "cgc", "single_task"])
    parser.add_argument("--network", default="paddlerec", choices=["paddlerec", "default"])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--alternate", type=int, default=0, metavar="ROUNDS")
    parser.add_argument("--flops", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path("data/05_model_input"))
    args = parser.parse_args()
    if args.network == "paddlerec" and args.model not in OUR_NETWORKS:
        parser.error(f"--model {args.model} has no PaddleRec network: use --network default")
    torch.set_num_threads(args.threads)
    inductor.cpp.enable_kernel_profile = True  # name the compiled kernels in the profile
    layout = json.loads((args.data_dir / "feature_layout.json").read_text())
    layout = FeatureLayout.from_dict(layout)
    train = to_tensors(pd.read_parquet(args.data_dir / "train.parquet"), TASKS, layout)
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    if args.alternate:
        return alternate(args, train, layout, order)
    before = peak_rss_mb()
    run = epoch_function(args, train, layout, args.compile)
    warm_up = timed(run, order[: 3 * args.batch])
    steps = min(args.steps, len(train) // args.batch)  # at most one epoch
    per_step = timed(run, order[: steps * args.batch]) / steps
    mode = "compiled" if args.compile else "eager"
    print(
        f"{args.model} ({args.network}) batch {args.batch}, {args.threads} threads, {mode}: "
        f"{per_step * 1e3:.2f} ms/step, {per_step * len(train) / args.batch:.2f} s/epoch "
        f"(warm-up {warm_up:.1f} s); peak RSS {before} MB before the steps, "
        f"{peak_rss_mb()} after"
    )
    if args.flops:
        flops = step_flops(args, train, layout)
        print(
            f"matrix-multiply FLOPs per step {flops / 1e9:.2f} G: {flops / per_step / 1e9:.1f} "
            f"GFLOP/s; a 2,048-square float32 product: {matmul_gflops():.1f} GFLOP/s"
        )
    with profile() as profiler:
        run(order[: 20 * args.batch])
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
