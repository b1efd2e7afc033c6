"""Batch inference on census-format files: chunked, validated row by row, never silent.

A file to score has UCI's 42 columns, or 41 without the trailing income label
(``census_mtl.inference.reading``). Each chunk is checked; a row with a bad value or a wrong
number of fields is reported (file line, column, value, problem) and either skipped or the
cause of a clear error, as ``on_bad_rows`` says. The model carries the encoder it was trained
behind; unknown categories are not errors: it maps them to each field's unknown slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import pandas as pd
import pandera.pandas as pa
import torch

from census_mtl.config.project import Predict
from census_mtl.data.schema import LABEL
from census_mtl.data.validation import SCORING_SCHEMA, failure_cases, typed
from census_mtl.errors import ProjectError
from census_mtl.features import encode
from census_mtl.inference.reading import BAD_ROW_COLUMNS
from census_mtl.models import ModelArtifact

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """``value`` as text (a missing one empty), with a leading ``'`` where a spreadsheet would
    read it as a formula."""
    text = "" if pd.isna(value) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class ScoringError(ProjectError, ValueError):
    """Rows of the input cannot be scored and ``on_bad_rows`` is ``fail``."""


def check_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The valid rows, typed, and a report of the bad ones (one line per bad value).

    ``rows`` is indexed by line number in the file, as ``read_lines`` yields it.
    """
    schema = SCORING_SCHEMA if LABEL in rows else SCORING_SCHEMA.remove_columns([LABEL])
    try:
        return typed(schema.validate(rows, lazy=True)), pd.DataFrame(columns=BAD_ROW_COLUMNS)
    except pa.errors.SchemaErrors as exc:
        cases = failure_cases(exc)
        bad = pd.DataFrame(
            {
                "line": cases["index"].astype(int),
                "column": cases["column"],
                "value": cases["failure_case"].astype(str),
                "problem": cases["check"].astype(str),
            }
        )
        keep = ~rows.index.isin(bad["line"])
        return typed(schema.validate(rows[keep])), bad.reset_index(drop=True)


def _fail_on(bad: pd.DataFrame) -> None:
    listing = "\n  ".join(
        f"line {r.line}, column {r.column!r}: {r.problem} failed on {r.value!r}"
        for r in bad.head(10).itertuples()
    )
    raise ScoringError(
        f"{bad['line'].nunique()} bad rows (first ones below); set "
        f"predict.on_bad_rows: skip to score the others.\n  {listing}"
    )


def score_file(
    chunks: Iterable[tuple[pd.DataFrame, pd.DataFrame]],
    model: ModelArtifact,
    settings: Predict,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every chunk scored: the probabilities and the bad-row report, each as one table."""
    scored = [pd.DataFrame(columns=["line", *output_names(model.tasks, model.types)])]
    bad = [pd.DataFrame(columns=BAD_ROW_COLUMNS)]
    for predictions, bad_rows in score_chunks(chunks, model, settings):
        scored.append(predictions)
        bad.append(bad_rows)
    return pd.concat(scored, ignore_index=True), pd.concat(bad, ignore_index=True)


def output_names(tasks: Sequence[str], types: Sequence[str]) -> list[str]:
    """Column (and ONNX output) names: ``p_<task>``, or ``value_<task>`` for regression."""
    return [
        f"p_{t}" if kind == "binary" else f"value_{t}" for t, kind in zip(tasks, types, strict=True)
    ]


def score_chunks(
    chunks: Iterable[tuple[pd.DataFrame, pd.DataFrame]],
    model: ModelArtifact,
    settings: Predict,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """For each chunk of ``read_lines``: ``line`` and ``p_<task>`` (a binary task's probability;
    ``value_<task>`` for a regression task) per scored row, and the report of its bad rows
    (cells that a spreadsheet would run as formulas neutralised)."""
    predictor = model.predictor(model.run_index(settings.run))
    for rows, bad_lines in chunks:
        valid, bad_values = check_rows(rows)
        bad = pd.concat([bad_lines, bad_values]) if len(bad_lines) else bad_values
        bad = bad.assign(value=bad["value"].map(spreadsheet_safe))
        if len(bad) and settings.on_bad_rows == "fail":
            _fail_on(bad)
        scored = pd.DataFrame({"line": valid.index.to_numpy()})
        if len(valid):  # a chunk may hold no valid row
            x = torch.from_numpy(encode(model.encoder, valid).to_numpy(copy=True))
            probs = predictor(x, settings.batch_size).numpy()
            for i, name in enumerate(output_names(model.tasks, model.types)):
                scored[name] = probs[:, i]
        yield scored, bad.sort_values("line", kind="stable").reset_index(drop=True)
