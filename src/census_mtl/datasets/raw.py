"""``RawCensusDataset``: a raw UCI file, fetched when missing and checked before every read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from census_mtl.data.fetch import checked_raw_file


class RawCensusDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """A gzip CSV in UCI's format, read only once its text matches its recorded SHA-256.

    A missing UCI file is fetched first (from ``CENSUS_DATA_DIR`` or the UCI archive), with
    the code the DVC ``fetch`` stage runs. Raw files are never written through the catalog.
    """

    def __init__(
        self,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = Path(filepath)
        self._load_args = load_args or {}
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return pd.read_csv(checked_raw_file(self._filepath), **self._load_args)

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._filepath} is a raw file: the project never writes it.")

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "load_args": self._load_args}
