"""A model's checkpoint folder: the last epoch of each seed, for resuming after a kill."""

from __future__ import annotations

import io
import logging
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from census_mtl.atomic import write_bytes
from census_mtl.errors import first_line

logger = logging.getLogger(__name__)


class Checkpoints:
    """``last-seed<N>.pt`` files in ``folder``, each written atomically at the end of an epoch.

    A checkpoint carries the fingerprint of the configuration and data it belongs to; one of
    anything else is ignored. Files load with ``weights_only=True``: tensors and plain data only.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, seed: int) -> Path:
        return self.folder / f"last-seed{seed}.pt"

    def save(self, seed: int, payload: dict[str, Any]) -> None:
        """Write atomically; built in memory first, so that a full disk is one clear error."""
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        write_bytes(self.path(seed), buffer.getbuffer())

    def load(self, seed: int, fingerprint: str, device: torch.device) -> dict[str, Any] | None:
        """The seed's checkpoint if it exists and matches ``fingerprint``, else ``None``."""
        path = self.path(seed)
        if not path.exists():
            return None
        try:
            saved = torch.load(path, map_location=device, weights_only=True)
        except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
            logger.warning(
                "Ignoring %s: it is damaged (%s); training starts over.", path, first_line(exc)
            )
            return None
        if not isinstance(saved, dict) or saved.get("fingerprint") != fingerprint:
            logger.warning("Ignoring %s: it belongs to another configuration or data.", path)
            return None
        return saved

    def __repr__(self) -> str:
        return f"Checkpoints({str(self.folder)!r})"
