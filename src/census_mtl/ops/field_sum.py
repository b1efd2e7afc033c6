"""The category sum of a first layer while it trains: ``table[codes].sum(1)`` and its gradient.

aten's ``embedding_bag`` computes the sum fast, but its backward sorts the batch's codes: at
PaddleRec's census sizes (38 fields, a table of 570 rows of 138) that sort is most of a training
step. The gradient of the table is a scatter of the output gradient's rows, one per code, and
here a small C++ kernel does it without sorting: each thread owns a range of the table's rows,
so no two threads write one row and every row adds its codes in batch order (the result does not
depend on the number of threads). The kernel is compiled once, by inductor's C++ compiler and
cache, the first time a layer trains on the CPU; without a compiler training falls back to
``embedding_bag`` both ways. On CUDA a compiled step takes the product of the batch's one-hot
matrix with the table instead (sums of at most 512 columns, more than 128 rows), else
``embedding_bag``.

Measured on 2 cores: the sum and its gradient for a batch of 1,024 over that table take 0.68 ms
with the kernel against 1.67 with the one-hot product's gradient and 4.24 with
``embedding_bag``'s (``benchmarks/field_sum.py``); PaddleRec's PLE, a compiled step
(``benchmarks/profile_step.py``), 2.26-2.59 ms against 3.14-4.63 at batch 1,024 and 0.73-0.98
against 1.18-1.19 at batch 32, old and new alternating.
"""

from __future__ import annotations

import ctypes
import functools
import logging

import torch
import torch.nn.functional as F

from census_mtl import ops

logger = logging.getLogger(__name__)

SMALL_BATCH = 128  # rows up to which eager training keeps embedding_bag (CUDA compiled too)
ONE_HOT_MAX_WIDTH = 512  # CUDA, compiled: the widest table for which the one-hot product wins

KERNEL = r"""
#pragma GCC optimize("tree-loop-vectorize")  // inductor's flags turn the loop vectoriser off
#include <cstdint>
#include <cstring>
#include <omp.h>

// out (rows x width) = the sum over i < n, f < fields of grad's row i added to out's row
// codes[i, f]. Thread t of T owns out's rows [rows t / T, rows (t + 1) / T): it zeroes
// them and adds every code that falls there, in batch order. A code outside [0, rows) is
// skipped by every thread.
extern "C" void scatter_rows(const int64_t* codes, const float* __restrict__ grad,
                             float* __restrict__ out, int64_t n, int64_t fields, int64_t rows,
                             int64_t width) {
  #pragma omp parallel if (n * fields * width >= 65536)
  {
    const int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
    const int64_t lo = rows * t / threads, hi = rows * (t + 1) / threads;
    std::memset(out + lo * width, 0, sizeof(float) * (hi - lo) * width);
    for (int64_t i = 0; i < n; ++i) {
      const float* __restrict__ g = grad + i * width;
      for (int64_t f = 0; f < fields; ++f) {
        const int64_t code = codes[i * fields + f];
        if (code < lo || code >= hi) continue;
        float* __restrict__ o = out + code * width;
        for (int64_t j = 0; j < width; ++j) o[j] += g[j];
      }
    }
  }
}
"""


@functools.cache
def scatter_kernel() -> ctypes._CFuncPtr | None:
    """The compiled kernel (``None``, with a warning, where it cannot be built)."""
    from torch._inductor.codecache import CppCodeCache  # torch is pinned: its API is stable here

    try:
        function = CppCodeCache.load(KERNEL).scatter_rows
    except Exception as error:  # any build failure means: use embedding_bag
        logger.warning(
            "No C++ kernel for the category sum's gradient (%s): using "
            "embedding_bag's, which is slower.",
            str(error).splitlines()[0],
        )
        return None
    function.restype = None
    function.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int64] * 4
    return function


@torch.compiler.assume_constant_result  # a compiled graph asks once, while it is traced
def has_scatter_kernel() -> bool:
    return scatter_kernel() is not None


def one_hot_rows(codes: torch.Tensor, width: int, like: torch.Tensor) -> torch.Tensor:
    """A ``len(codes) x width`` matrix of ``like``'s dtype and device, with a 1 at every code
    of each row (codes of different fields never collide)."""
    one_hot = torch.zeros(codes.shape[0], width, device=like.device, dtype=like.dtype)
    return one_hot.scatter_(1, codes, 1.0)


def training_field_sum(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``embedding_bag(codes, table, mode="sum")`` with the fastest gradient at hand: on the CPU
    (float32) the scatter kernel, in a compiled graph or for more than 128 rows (below that
    the Python of an ``autograd.Function`` costs more than it saves); on CUDA in a compiled
    graph, for more than 128 rows, the one-hot product for a table at most 512 wide; else, and
    with the speed kernels off, ``embedding_bag``'s own."""
    if not ops.fast():
        return F.embedding_bag(codes, table, mode="sum")
    large = codes.shape[0] > SMALL_BATCH
    if codes.device.type == "cpu":
        scatter = table.dtype == torch.float32 and (large or torch.compiler.is_compiling())
        if scatter and has_scatter_kernel():
            return _BagSum.apply(codes, table)
    elif torch.compiler.is_compiling() and large and table.shape[1] <= ONE_HOT_MAX_WIDTH:
        return one_hot_rows(codes, table.shape[0], table) @ table
    return F.embedding_bag(codes, table, mode="sum")


def scatter_rows(codes: torch.Tensor, grad: torch.Tensor, rows: int) -> torch.Tensor:
    """The gradient of ``bag_sum``'s table by ``scatter_kernel`` (CPU, float32)."""
    codes, grad = codes.contiguous(), grad.contiguous()
    out = grad.new_empty(rows, grad.shape[1])
    scatter_kernel()(codes.data_ptr(), grad.data_ptr(), out.data_ptr(), *codes.shape, *out.shape)
    return out


# The kernel as an operator that a compiled graph calls as it is (inductor cannot see into it).
# Registered with ``torch.library.Library``, not ``custom_op``: a compiled step calls it once,
# and ``custom_op``'s Python layers cost ~80 us a call. The sum itself is ``embedding_bag``,
# which a compiled graph calls from C++ (an operator with a Python body cost 5 % of a step at
# batch 32).
_LIBRARY = torch.library.Library("census_mtl", "DEF")
_LIBRARY.define("bag_sum_backward(Tensor codes, Tensor grad, SymInt rows) -> Tensor")
_LIBRARY.impl("bag_sum_backward", scatter_rows, "CPU")
bag_sum_backward = torch.ops.census_mtl.bag_sum_backward


def bag_sum(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``table[codes].sum(1)``."""
    return F.embedding_bag(codes, table, mode="sum")


@torch.library.register_fake("census_mtl::bag_sum_backward")
def _(codes: torch.Tensor, grad: torch.Tensor, rows: int) -> torch.Tensor:
    return grad.new_empty(rows, grad.shape[1])


class _ScatterRows(torch.autograd.Function):
    """``bag_sum_backward`` for ``torch.func``: its forward runs below the transform, where the
    tensors have storage; its own gradient is ``bag_sum``."""

    @staticmethod
    def forward(codes: torch.Tensor, grad: torch.Tensor, rows: int) -> torch.Tensor:
        return bag_sum_backward(codes, grad, rows)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor, None]:
        (codes,) = ctx.saved_tensors
        return None, bag_sum(codes, grad), None


class _BagSum(torch.autograd.Function):
    """``bag_sum`` forward, ``bag_sum_backward`` backward (``_ScatterRows``). An
    ``autograd.Function`` with ``setup_context``, so that ``torch.func.grad`` takes it."""

    @staticmethod
    def forward(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return bag_sum(codes, table)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        codes, table = inputs
        ctx.save_for_backward(codes)
        ctx.rows = table.shape[0]

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        (codes,) = ctx.saved_tensors
        return None, _ScatterRows.apply(codes, grad, ctx.rows)
