"""The allocator setting of ``census_mtl.memory``."""

from __future__ import annotations

import os
import sys

import pytest
import torch

from census_mtl.memory import limit_heap_retention


def resident_bytes() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_block_above_the_threshold_leaves_the_process():
    assert limit_heap_retention()
    before = resident_bytes()
    block = torch.ones(24 << 20, dtype=torch.uint8)  # 24 MiB, above the 4 MiB threshold
    assert resident_bytes() - before > 20 << 20
    del block
    assert resident_bytes() - before < 8 << 20


def test_elsewhere_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert limit_heap_retention() is False
