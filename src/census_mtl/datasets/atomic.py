"""Kedro-datasets' file datasets, written atomically: to a temporary name beside the file,
then renamed, so that a kill or a full disk leaves the previous file whole.

The catalog names them as ``census_mtl.datasets.atomic.CSVDataset`` and so on; they take the
arguments of the kedro-datasets class they extend (local files, without versioning).
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Any

from kedro.io import DatasetError
from kedro_datasets.json import JSONDataset as _JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset as _MatplotlibDataset
from kedro_datasets.pandas import CSVDataset as _CSVDataset
from kedro_datasets.pandas import ParquetDataset as _ParquetDataset
from kedro_datasets.plotly import HTMLDataset as _HTMLDataset
from kedro_datasets.text import TextDataset as _TextDataset
from kedro_datasets.yaml import YAMLDataset as _YAMLDataset

from census_mtl.atomic import disk_full
from census_mtl.errors import ProjectError


class MissingInputError(ProjectError, FileNotFoundError):
    """A dataset's file that no run has written yet."""


class AtomicSave:
    """Mixin: ``save`` writes a ``.<name>.<pid>.part`` beside the file and renames it over;
    ``load`` of a file that does not exist says which pipeline to run first."""

    _filepath: PurePosixPath

    def load(self) -> Any:
        if not os.path.exists(str(self._filepath)):
            raise MissingInputError(
                f"{self._filepath} does not exist yet: run the pipelines that write it first "
                "(`kedro run`, or `kedro run --env <env>` for that environment)"
            )
        return super().load()  # type: ignore[misc]

    def _get_save_path(self) -> PurePosixPath:
        final = self._filepath
        return final.with_name(f".{final.name}.{os.getpid()}.part")

    def save(self, data: Any) -> None:
        part = self._get_save_path()
        os.makedirs(os.path.dirname(str(part)) or ".", exist_ok=True)
        try:
            super().save(data)  # type: ignore[misc]
            os.replace(str(part), str(self._filepath))
        except (DatasetError, OSError) as exc:
            if full := disk_full(exc, self._filepath):
                raise full from None
            raise
        finally:
            if os.path.exists(str(part)):
                os.remove(str(part))


class CSVDataset(AtomicSave, _CSVDataset):
    """``pandas.CSVDataset``, written atomically."""


class ParquetDataset(AtomicSave, _ParquetDataset):
    """``pandas.ParquetDataset``, written atomically."""


class JSONDataset(AtomicSave, _JSONDataset):
    """``json.JSONDataset``, written atomically."""


class TextDataset(AtomicSave, _TextDataset):
    """``text.TextDataset``, written atomically."""


class YAMLDataset(AtomicSave, _YAMLDataset):
    """``yaml.YAMLDataset``, written atomically."""


class MatplotlibDataset(AtomicSave, _MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` of one figure, written atomically."""


class HTMLDataset(AtomicSave, _HTMLDataset):
    """``plotly.HTMLDataset``, written atomically."""
