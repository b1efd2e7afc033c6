"""``ModelArtifactDataset``: a trained model in one file, written atomically, loaded safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from census_mtl.models.artifact import ArtifactError, ModelArtifact, load_artifact, save_artifact


class ModelArtifactDataset(AbstractDataset[ModelArtifact, ModelArtifact]):
    """A ``ModelArtifact`` as ``torch.save`` of JSON text and tensors (``weights_only`` load)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> ModelArtifact:
        try:
            return load_artifact(self._filepath)
        except ArtifactError as exc:
            raise DatasetError(str(exc)) from None

    def save(self, data: ModelArtifact) -> None:
        save_artifact(data, self._filepath)

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
