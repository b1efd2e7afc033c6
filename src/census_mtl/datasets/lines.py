"""``CensusLinesDataset``: a census-format file to score, as chunks with their bad lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from census_mtl.inference.reading import read_lines

Chunks = Iterator[tuple[pd.DataFrame, pd.DataFrame]]


class CensusLinesDataset(AbstractDataset[None, Chunks]):
    """Loads ``read_lines(filepath, chunksize)``: rows by line number, and lines with a wrong
    number of fields, one chunk at a time. Read-only."""

    def __init__(
        self, filepath: str, chunksize: int = 100_000, metadata: dict[str, Any] | None = None
    ) -> None:
        self._filepath = Path(filepath)
        self._chunksize = chunksize
        self.metadata = metadata

    def load(self) -> Chunks:
        if not self._filepath.is_file():
            raise DatasetError(f"{self._filepath}: no such file to score.")
        return read_lines(self._filepath, self._chunksize)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._filepath} is an input: the project never writes it.")

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "chunksize": self._chunksize}
