"""Pick the torch device and CPU thread count from the ``device`` and ``num_threads`` settings."""

from __future__ import annotations

import os
import shutil

import torch

from census_mtl.config import ConfigError
from census_mtl.errors import ProjectError

DEVICE_CHOICES = "'auto' (cuda, then mps, then cpu), 'cpu', 'cuda', 'cuda:N' or 'mps'"


class DeviceError(ProjectError, ValueError):
    """A device that is unknown or not on this machine."""


def resolve_device(setting: str) -> torch.device:
    """The device for ``setting``; an unknown or unavailable one raises ``DeviceError``."""
    setting = str(setting).strip().lower()
    if setting == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if setting == "cpu":
        return torch.device("cpu")
    if setting == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError("device 'mps' is not available on this machine; use 'auto' or 'cpu'.")
        return torch.device("mps")
    kind, _, index = setting.partition(":")
    if kind == "cuda" and (not index or index.isdigit()):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if int(index or 0) >= count:
            raise DeviceError(
                f"device {setting!r} is not available: this machine has {count} CUDA device(s); "
                "use 'auto' or 'cpu'."
            )
        return torch.device(setting)
    raise DeviceError(f"unknown device {setting!r}; allowed: {DEVICE_CHOICES}.")


def set_threads(num_threads: int | None) -> None:
    """Limit torch's intra-op CPU threads (``None`` keeps torch's default)."""
    if num_threads is not None:
        if not isinstance(num_threads, int) or num_threads < 1:
            raise DeviceError(
                f"num_threads must be a positive integer or null, got {num_threads!r}."
            )
        torch.set_num_threads(num_threads)


def has_compiler() -> bool:
    """Whether a C++ compiler for inductor's CPU kernels is on the ``PATH`` (or ``$CXX``)."""
    return any(shutil.which(c) for c in (os.environ.get("CXX"), "g++", "c++", "clang++") if c)


def check_compiler() -> None:
    """A compiled step on CPU needs a C++ compiler; without one, say so before training."""
    if not has_compiler():
        raise ConfigError(
            "training.compile = true needs a C++ compiler on CPU (g++ or clang++, or $CXX): "
            "install one (Debian: apt-get install g++) or set training_defaults.compile: false."
        )
