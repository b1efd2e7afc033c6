"""Seeds trained together or one after another: does one stacked network of several members
(a leading member dimension on every weight, ``torch.func.stack_module_state`` + ``vmap``)
take a training step faster on the CPU than the members' own steps in turn?

The project's default PLE (``conf/base``), batch 1,024 rows per member, on the real data
(``data/05_model_input``), ``--members`` members with their own initialisation, rows and dropout
draws. Both ways run eagerly on plain-PyTorch operators (``fast_ops`` off: ``vmap`` has no
batching rule for the project's kernels) with ``torch.optim``'s fused Adam: in turn, one
``backward`` and ``step`` per member; stacked, one ``vmap``-ed ``grad`` over all members and
one Adam step over the stacked weights. The two alternate, ``--rounds`` rounds of ``--steps``
steps, so that the machine's drift hits both; the ratio is taken round by round:

    python benchmarks/stacked_seeds.py --members 5 --rounds 8 --steps 5
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from profile_step import TASKS, network_and_settings
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from census_mtl import ops
from census_mtl.models import FeatureLayout
from census_mtl.models.registry import fit_to_training_rows
from census_mtl.training.data import TensorData, to_tensors
from census_mtl.training.loss import MultiTaskLoss


def members(count: int, train: TensorData, layout: FeatureLayout) -> list[torch.nn.Module]:
    """``count`` default PLEs, member ``k`` initialised with seed ``k``."""
    networks = []
    for seed in range(count):
        torch.manual_seed(seed)
        network, _ = network_and_settings("ple", "default", layout)
        fit_to_training_rows(network, train.x, train.y)
        networks.append(network.train())
    return networks


def in_turn(networks, loss_fn, train: TensorData, index: torch.Tensor) -> Callable[[], None]:
    """One step of every member, one after another."""
    optimizers = [torch.optim.Adam(n.parameters(), lr=1e-3, fused=True) for n in networks]

    def step() -> None:
        for network, optimizer, rows in zip(networks, optimizers, index, strict=True):
            x, y, w = train.rows(rows)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(network(x), y, w)[0].backward()
            optimizer.step()

    return step


def stacked(networks, loss_fn, train: TensorData, index: torch.Tensor) -> Callable[[], None]:
    """One step of all members as one stacked network."""
    params, buffers = stack_module_state(networks)
    params = {name: p.detach().clone() for name, p in params.items()}
    base = copy.deepcopy(networks[0]).to("meta")
    optimizer = torch.optim.Adam(params.values(), lr=1e-3, fused=True)

    def loss_of(weights, state, x, y, w) -> torch.Tensor:
        return loss_fn(functional_call(base, (weights, state), (x,)), y, w)[0]

    gradient = vmap(grad_and_value(loss_of), randomness="different")

    def step() -> None:
        x, y, w = (
            torch.stack([t.index_select(0, rows) for rows in index])
            for t in (train.x, train.y, train.w)
        )
        grads, _ = gradient(params, buffers, x, y, w)
        for name, p in params.items():
            p.grad = grads[name]
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=Path("data/05_model_input"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    layout = FeatureLayout.from_dict(
        json.loads((args.data_dir / "feature_layout.json").read_text())
    )
    train = to_tensors(pd.read_parquet(args.data_dir / "train.parquet"), TASKS, layout)
    index = torch.randint(0, len(train), (args.members, args.batch))
    settings = network_and_settings("ple", "default", layout)[1]
    loss_fn = MultiTaskLoss(TASKS, settings.loss, ["binary", "binary"])
    with ops.switched(False), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        steps = {
            "in turn": in_turn(members(args.members, train, layout), loss_fn, train, index),
            "stacked": stacked(members(args.members, train, layout), loss_fn, train, index),
        }
        for step in steps.values():  # warm-up
            step()
        times = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                started = time.perf_counter()
                for _ in range(args.steps):
                    step()
                times[name].append((time.perf_counter() - started) / args.steps * 1e3)
    report(args, times, [str(w.message) for w in caught])


def report(args: argparse.Namespace, times: dict[str, list[float]], warned: list[str]) -> None:
    """Each way's milliseconds per step of all members, their ratio, and the operators that
    ``vmap`` ran member by member."""
    print(
        f"default PLE, {args.members} members x batch {args.batch}, {args.threads} threads, "
        "eager, plain-PyTorch operators"
    )
    for name, values in times.items():
        rounds = " ".join(f"{v:.1f}" for v in values)
        print(
            f"{name}: ms per step of all members {rounds}; median {statistics.median(values):.1f}"
        )
    ratios = [a / b for a, b in zip(times["in turn"], times["stacked"], strict=True)]
    rounds = " ".join(f"{r:.2f}" for r in ratios)
    print(f"in turn / stacked, round by round: {rounds}; median {statistics.median(ratios):.2f}")
    marker = "batching rule for "
    unbatched = sorted({m.split(marker)[1].split(".")[0] for m in warned if marker in m})
    print(f"run member by member (no batching rule): {', '.join(unbatched) or 'none'}")


if __name__ == "__main__":
    main()
