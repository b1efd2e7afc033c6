"""Keep the C allocator from holding on to freed memory (glibc, Linux).

glibc serves an allocation above its mmap threshold from a mapping of its own, unmapped when
freed, but it raises the threshold to the size of every such block freed (up to 32 MiB). After
the first training steps the large buffers of training and evaluation therefore come from the
heap, and what they free stays in the process. A fixed threshold of 4 MiB keeps a step's
buffers on the fast heap (a batch of 1,024 x 800 float32 is 3.3 MB) and gives larger ones back
at once. Measured on the default PLE run, one seed (docs/benchmarks.md, "Peak memory"): peak
RSS 896 MB against 941-961 eager, 976 against 1,048-1,089 compiled, epochs as fast. A threshold
of 128 KiB (glibc's starting value) saves a little more but makes every epoch 2.3x slower.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
THRESHOLD = 4 << 20


def limit_heap_retention(threshold: int = THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1
