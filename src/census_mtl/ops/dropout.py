"""Dropout with a cheaper mask on the CPU.

aten draws a CPU dropout mask with one Mersenne-Twister number and a float comparison per
element, on one thread (its vectorised MKL path is for Intel CPUs only): in a step of the
default PLE on 2 AMD cores it took a third of the time (``benchmarks/profile_step.py``). Here
each 64-bit draw of the same generator gives three 16-bit numbers, and an element is kept when
its number is among the lowest ``kept = round((1 - p) * 65536)`` of the 65,536. Kept elements
are scaled by ``65536 / kept``, so the expectation is exact and ``p`` is rounded to a multiple of
1/65536 (at most 65535/65536). A seeded run draws the same masks every time.

A compiled graph calls the same mask as one opaque operator (``census_mtl::dropout_mask``):
inductor would otherwise call aten's per-element ``bernoulli_`` from its C++ wrapper, which was
a quarter of a compiled step of the default PLE (``perf record``; 24-27 ms a step against
23 eager). On other devices, and with the speed kernels off, it is ``nn.Dropout``.
"""

from __future__ import annotations

import torch
from torch import nn

from census_mtl import ops

LEVELS = 1 << 16  # 16-bit numbers


def uniform_int16(n: int) -> torch.Tensor:
    """``n`` independent numbers, uniform over the int16 range, from the default generator.

    ``random_`` fills int64 with 63 random bits; the low three of each draw's four int16 are
    used (little-endian, as on every platform torch ships for), the top one holds the sign bit.
    """
    draws = torch.empty((n + 2) // 3, 4, dtype=torch.int16)
    draws.view(torch.int64).random_()
    return draws[:, :3].reshape(-1)[:n]


def scaled_mask(like: torch.Tensor, kept: int) -> torch.Tensor:
    """A mask of ``like``'s shape and dtype: ``LEVELS / kept`` where kept, else 0."""
    keep = uniform_int16(like.numel()).view(like.shape) < kept - LEVELS // 2
    return keep.to(like.dtype).mul_(LEVELS / kept)


# Seeded by the default generator: the tag keeps a compiled graph from merging two calls.
_LIBRARY = torch.library.Library("census_mtl", "FRAGMENT")
_LIBRARY.define(
    "dropout_mask(Tensor like, int kept) -> Tensor", tags=(torch.Tag.nondeterministic_seeded,)
)
_LIBRARY.impl("dropout_mask", scaled_mask, "CPU")
dropout_mask = torch.ops.census_mtl.dropout_mask


@torch.library.register_fake("census_mtl::dropout_mask")
def _(like: torch.Tensor, kept: int) -> torch.Tensor:
    return torch.empty_like(like, memory_format=torch.contiguous_format)


class Dropout(nn.Dropout):
    """``nn.Dropout(p)``, with the mask of ``uniform_int16`` on the CPU (see the module)."""

    def __init__(self, p: float) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        super().__init__(p)
        self.kept = max(1, round((1.0 - p) * LEVELS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu" or not ops.fast():
            return super().forward(x)
        if torch.compiler.is_compiling():
            return x * dropout_mask(x.detach(), self.kept)
        return x * scaled_mask(x, self.kept)
