"""Batch inference on census-format files: chunked, validated row by row, never silent.

A file to score has UCI's 42 columns, or 41 without the trailing income label. Each chunk is
checked; a row with a bad value is reported (file line, column, value, problem) and either
skipped or the cause of a clear error, as ``on_bad_rows`` says. Unknown categories are not
errors: the encoder maps them to each field's unknown slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pandas as pd
import pandera.pandas as pa
import torch
from sklearn.compose import ColumnTransformer

from census_mtl.config.project import Predict
from census_mtl.data.schema import COLUMNS, LABEL
from census_mtl.data.validation import SCORING_SCHEMA, failure_cases, typed
from census_mtl.errors import ProjectError
from census_mtl.features import encode
from census_mtl.models import ModelArtifact

BAD_ROW_COLUMNS = ["line", "column", "value", "problem"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """``value`` with a leading ``'`` where a spreadsheet would read it as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class ScoringError(ProjectError, ValueError):
    """Rows of the input cannot be scored and ``on_bad_rows`` is ``fail``."""


def _name_columns(chunk: pd.DataFrame) -> pd.DataFrame:
    if chunk.shape[1] == len(COLUMNS):
        return chunk.set_axis(list(COLUMNS), axis=1)
    if chunk.shape[1] == len(COLUMNS) - 1:
        return chunk.set_axis(list(COLUMNS[:-1]), axis=1)
    raise ScoringError(
        f"{chunk.shape[1]} fields per row; expected {len(COLUMNS)} (UCI format) or "
        f"{len(COLUMNS) - 1} (without the {LABEL} label)."
    )


def check_rows(chunk: pd.DataFrame, first_line: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chunk's valid rows, typed, and a report of the bad ones (one line per bad value)."""
    named = _name_columns(chunk.reset_index(drop=True))
    schema = SCORING_SCHEMA if LABEL in named else SCORING_SCHEMA.remove_columns([LABEL])
    try:
        return typed(schema.validate(named, lazy=True)), pd.DataFrame(columns=BAD_ROW_COLUMNS)
    except pa.errors.SchemaErrors as exc:
        cases = failure_cases(exc)
        bad = pd.DataFrame(
            {
                "line": cases["index"].astype(int) + first_line,
                "column": cases["column"],
                "value": cases["failure_case"].astype(str).map(spreadsheet_safe),
                "problem": cases["check"].astype(str),
            }
        )
        keep = ~named.index.isin(cases["index"].astype(int))
        return typed(schema.validate(named[keep])), bad.reset_index(drop=True)


def _fail_on(bad: pd.DataFrame) -> None:
    listing = "\n  ".join(
        f"line {r.line}, column {r.column!r}: {r.problem} failed on {r.value!r}"
        for r in bad.head(10).itertuples()
    )
    raise ScoringError(
        f"{bad['line'].nunique()} bad rows (first ones below); set "
        f"predict.on_bad_rows: skip to score the others.\n  {listing}"
    )


def score_chunks(
    chunks: Iterable[pd.DataFrame],
    preprocessor: ColumnTransformer,
    model: ModelArtifact,
    settings: Predict,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """For each chunk: ``line`` and ``p_<task>`` per scored row, and the bad-row report."""
    predictor = model.predictor(model.run_index(settings.run))
    first_line = 1
    for chunk in chunks:
        rows, bad = check_rows(chunk, first_line)
        if len(bad) and settings.on_bad_rows == "fail":
            _fail_on(bad)
        lines = rows.index.to_numpy() + first_line
        x = torch.from_numpy(encode(preprocessor, rows).to_numpy(copy=True))
        probs = predictor(x, settings.batch_size).numpy()
        scored = pd.DataFrame({"line": lines})
        for i, task in enumerate(model.tasks):
            scored[f"p_{task}"] = probs[:, i]
        first_line += len(chunk)
        yield scored, bad
