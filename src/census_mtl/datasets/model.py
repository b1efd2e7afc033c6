"""``ModelArtifactDataset``: a trained model in one file, written atomically, loaded safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from census_mtl.models.artifact import (
    ModelArtifact,
    load_artifact,
    resolve_model_file,
    save_artifact,
)


class ModelArtifactDataset(AbstractDataset[ModelArtifact, ModelArtifact]):
    """A ``ModelArtifact`` as ``torch.save`` of JSON text and tensors (``weights_only`` load).

    ``filepath`` is the file; or ``folder`` and ``model``: a model name (or path) resolved
    inside ``folder``, unless ``model`` is an absolute path (``predict_model=…``).
    """

    def __init__(
        self,
        filepath: str | None = None,
        folder: str | None = None,
        model: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if (filepath is None) == (folder is None or model is None):
            raise DatasetError("ModelArtifactDataset takes a filepath, or a folder and a model")
        self._filepath = Path(filepath) if filepath else None
        self._folder, self._model = folder, model
        self.metadata = metadata

    @property
    def _path(self) -> Path:
        if self._filepath is not None:
            return self._filepath
        return resolve_model_file(self._model, Path(self._folder))

    def load(self) -> ModelArtifact:
        return load_artifact(self._path)

    def save(self, data: ModelArtifact) -> None:
        save_artifact(data, self._path)

    def _exists(self) -> bool:
        return self._path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "folder": self._folder, "model": self._model}
