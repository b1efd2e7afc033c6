"""Nodes that turn a raw UCI file into a validated, typed table."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from census_mtl.data.schema import (
    COLUMNS,
    INTEGER_CODED,
    LABEL,
    LABEL_VALUES,
    NUMERIC,
    RAW_FILE_NAMES,
    WEIGHT,
)


class RawDataError(ValueError):
    """A raw file does not follow the Census-Income format."""


def _dtype(column: str) -> str:
    if column == WEIGHT:
        return "float64"
    return "int64" if column in NUMERIC or column in INTEGER_CODED else "str"


CENSUS_SCHEMA = pa.DataFrameSchema(
    {
        column: pa.Column(
            _dtype(column),
            checks=pa.Check.isin(LABEL_VALUES) if column == LABEL else None,
            coerce=True,
            nullable=False,
        )
        for column in COLUMNS
    },
    strict=True,
    ordered=True,
)


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
        cases = exc.failure_cases.dropna(subset=["index"]).drop_duplicates(["column", "index"])
        problems = [
            f"column {row.column!r}, line {int(row.index) + 1}: {row.check} failed on "
            f"{row.failure_case!r} (row: {_example(named, int(row.index))})"
            for row in cases.groupby("column", sort=False).head(1).itertuples()
        ]
        raise RawDataError(
            f"{source}: {len(cases)} bad values.\n  " + "\n  ".join(problems or [str(exc)])
        ) from None


def validate_train(raw: pd.DataFrame) -> pd.DataFrame:
    """Validate the raw train file (``census-income.data.gz``)."""
    return validate_census(raw, f"{RAW_FILE_NAMES['train']} (train)")


def validate_test(raw: pd.DataFrame) -> pd.DataFrame:
    """Validate the raw test file (``census-income.test.gz``)."""
    return validate_census(raw, f"{RAW_FILE_NAMES['test']} (test)")
