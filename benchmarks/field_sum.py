"""The first layer's category sum, forward and backward, by every way tried: milliseconds per
call on the real layout (``data/05_model_input/feature_layout.json``), all ways in one run.

    python benchmarks/field_sum.py --batch 1024 --width 138   # PaddleRec's PLE at batch 1024

``width`` is the number of first-layer units the sum feeds (138 for the PLE of
``train_speed.py``). Each way returns the sum and the gradient of the table for a given
gradient of the sum; ``compiled`` rows run under ``torch.compile`` (inductor), as in the fused
training step. The error column is the largest difference to aten's ``embedding_bag``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from census_mtl.ops.field_sum import one_hot_rows, scatter_rows, training_field_sum

Way = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def autograd_way(forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Way:
    """Forward by ``forward(codes, table)``, backward by autograd (``torch.func``, as the fused
    step)."""

    def run(codes, table, grad):
        out, backward = torch.func.vjp(lambda t: forward(codes, t), table)
        return out, backward(grad)[0]

    return run


def one_hot_product(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    return one_hot_rows(codes, table.shape[0], table) @ table


def sparse_product(codes, table, grad):
    """CSR one-hot matrices: rows of the batch forward, rows of the table (sorted) backward."""
    rows, fields = codes.shape
    ones = torch.ones(rows * fields, dtype=table.dtype)
    by_row = torch.sparse_csr_tensor(
        torch.arange(0, rows * fields + 1, fields), codes.flatten(), ones, (rows, table.shape[0])
    )
    flat = codes.flatten()
    order = torch.argsort(flat, stable=True)
    starts = torch.zeros(table.shape[0] + 1, dtype=torch.long)
    starts[1:] = torch.bincount(flat, minlength=table.shape[0]).cumsum(0)
    by_category = torch.sparse_csr_tensor(starts, order // fields, ones, (table.shape[0], rows))
    return by_row @ table, by_category @ grad


def per_field_index_add(codes, table, grad):
    """``embedding_bag`` forward; backward one ``index_add_`` per field (no sort, no one-hot)."""
    table_grad = torch.zeros_like(table)
    for field in range(codes.shape[1]):
        table_grad.index_add_(0, codes[:, field], grad)
    return F.embedding_bag(codes, table, mode="sum"), table_grad


def bag_then_one_hot(codes, table, grad):
    """``embedding_bag`` forward; backward the one-hot product's only."""
    one_hot = one_hot_rows(codes, table.shape[0], table)
    return F.embedding_bag(codes, table, mode="sum"), one_hot.t() @ grad


def bag_then_scatter(codes, table, grad):
    """``embedding_bag`` forward; backward census-mtl's scatter kernel (no sort, no one-hot)."""
    return F.embedding_bag(codes, table, mode="sum"), scatter_rows(codes, grad, table.shape[0])


WAYS: dict[str, tuple[Way, bool]] = {  # name: (way, also compiled)
    "embedding_bag": (autograd_way(lambda c, t: F.embedding_bag(c, t, mode="sum")), True),
    "one-hot product": (autograd_way(one_hot_product), True),
    "gather and sum": (autograd_way(lambda c, t: t[c].sum(1)), True),
    "CSR sparse products": (sparse_product, False),
    "bag, per-field index_add": (per_field_index_add, False),
    "bag, one-hot backward": (bag_then_one_hot, False),
    "bag, scatter kernel backward": (bag_then_scatter, False),
    # not compiled here: under torch.func.vjp dynamo hands its operator a grad-tracking tensor
    # (the training step's torch.func.grad_and_value compiles it; profile_step.py times that)
    "census-mtl's training_field_sum": (autograd_way(training_field_sum), False),
}


def milliseconds(run: Callable[[], object], calls: int) -> float:
    for _ in range(5):
        run()
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--width", type=int, default=138)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument(
        "--layout", type=Path, default=Path("data/05_model_input/feature_layout.json")
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # sparse CSR is a beta feature
    sizes = list(json.loads(args.layout.read_text())["categorical"].values())
    torch.manual_seed(0)
    offsets = torch.tensor([0, *sizes[:-1]]).cumsum(0)
    codes = torch.stack([torch.randint(0, size, (args.batch,)) for size in sizes], 1) + offsets
    table, grad = torch.randn(sum(sizes), args.width), torch.randn(args.batch, args.width)
    reference = WAYS["embedding_bag"][0](codes, table, grad)
    print(
        f"batch {args.batch}, {len(sizes)} fields, table {sum(sizes)} x {args.width}, "
        f"{torch.get_num_threads()} threads"
    )
    for name, (way, compile_too) in WAYS.items():
        for compiled in (False, True) if compile_too else (False,):
            run = torch.compile(way, fullgraph=True) if compiled else way
            error = max(
                (a - b).abs().max().item()
                for a, b in zip(run(codes, table, grad), reference, strict=True)
            )
            ms = milliseconds(lambda run=run: run(codes, table, grad), args.calls)
            label = f"{name}{', compiled' if compiled else ''}"
            print(f"{label:36s} {ms:7.3f} ms   max error {error:.1e}", flush=True)


if __name__ == "__main__":
    main()
