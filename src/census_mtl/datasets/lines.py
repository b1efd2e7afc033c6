"""``CensusLinesDataset``: a census-format file to score, as chunks with their bad lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from census_mtl.errors import ProjectError
from census_mtl.inference.reading import MAX_LINE_CHARS, read_lines

Chunks = Iterator[tuple[pd.DataFrame, pd.DataFrame]]


class InputFileError(ProjectError, FileNotFoundError):
    """The file to score is missing or is not a file."""


class CensusLinesDataset(AbstractDataset[None, Chunks]):
    """Loads ``read_lines(filepath, chunksize, max_line_chars)``: rows by line number, and the
    lines with a wrong number of fields or too long, one chunk at a time. Read-only."""

    def __init__(
        self,
        filepath: str,
        chunksize: int = 100_000,
        max_line_chars: int = MAX_LINE_CHARS,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if chunksize < 1 or max_line_chars < 1:
            raise DatasetError("CensusLinesDataset: chunksize and max_line_chars must be >= 1")
        self._filepath = Path(filepath)
        self._chunksize, self._max_line_chars = chunksize, max_line_chars
        self.metadata = metadata

    def load(self) -> Chunks:
        if not self._filepath.is_file():
            problem = "is a folder" if self._filepath.is_dir() else "does not exist"
            raise InputFileError(
                f"{self._filepath} {problem}: give a census-format file to score "
                "(--params predict_input=PATH)"
            )
        return read_lines(self._filepath, self._chunksize, self._max_line_chars)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._filepath} is an input: the project never writes it.")

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "chunksize": self._chunksize,
            "max_line_chars": self._max_line_chars,
        }
