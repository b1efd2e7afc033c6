"""The census table schema (pandera) and the validation of raw tables against it.

Used by the ingest pipeline on the raw files and by inference on files to score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from census_mtl.data.schema import COLUMNS, INTEGER_CODED, LABEL, LABEL_VALUES, NUMERIC, WEIGHT


class RawDataError(ValueError):
    """A raw file does not follow the Census-Income format."""


def _dtype(column: str) -> str:
    if column == WEIGHT:
        return "float64"
    return "int64" if column in NUMERIC or column in INTEGER_CODED else "str"


FINITE_WEIGHT = pa.Check(
    lambda weights: np.isfinite(weights) & (weights >= 0), name="finite_and_non_negative"
)


def _checks(column: str) -> pa.Check | None:
    if column == LABEL:
        return pa.Check.isin(LABEL_VALUES)
    return FINITE_WEIGHT if column == WEIGHT else None


CENSUS_SCHEMA = pa.DataFrameSchema(
    {
        column: pa.Column(_dtype(column), checks=_checks(column), coerce=True, nullable=False)
        for column in COLUMNS
    },
    strict=True,
    ordered=True,
)


def failure_cases(exc: pa.errors.SchemaErrors) -> pd.DataFrame:
    """One row per bad (column, row index) of a lazy validation: column, index, check, value."""
    return exc.failure_cases.dropna(subset=["index"]).drop_duplicates(["column", "index"])


def _example(raw: pd.DataFrame, index: int) -> str:
    return ", ".join(map(str, raw.loc[index].tolist()))


def validate_census(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """Name the columns of a raw census table, check them and return it typed.

    Raises ``RawDataError`` naming ``source``, the column, the line and that line's values.
    """
    if raw.shape[1] != len(COLUMNS):
        raise RawDataError(
            f"{source}: {raw.shape[1]} fields per row, expected {len(COLUMNS)}. "
            f"Line 1: {_example(raw, raw.index[0])}"
        )
    named = raw.set_axis(list(COLUMNS), axis=1)
    try:
        return CENSUS_SCHEMA.validate(named, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = failure_cases(exc)
        problems = [
            f"column {row.column!r}, line {int(row.index) + 1}: {row.check} failed on "
            f"{row.failure_case!r} (row: {_example(named, int(row.index))})"
            for row in cases.groupby("column", sort=False).head(1).itertuples()
        ]
        raise RawDataError(
            f"{source}: {len(cases)} bad values.\n  " + "\n  ".join(problems or [str(exc)])
        ) from None
