"""``CheckpointsDataset``: a model's checkpoint folder, handed to the training node."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError

from census_mtl.training.checkpoints import Checkpoints


class CheckpointsDataset(AbstractDataset[None, Checkpoints]):
    """Loads as a ``Checkpoints`` over ``filepath`` (created when training writes the first)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = filepath
        self.metadata = metadata

    def load(self) -> Checkpoints:
        return Checkpoints(self._filepath)

    def save(self, data: None) -> None:
        raise DatasetError("checkpoints are written by the training loop, not saved as a dataset")

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}
