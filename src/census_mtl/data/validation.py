"""The census table schema (pandera) and the validation of raw tables against it.

Used by the ingest pipeline on the raw files and by inference on files to score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from census_mtl.data.schema import CATEGORIES, COLUMNS, INTEGER_CODED, LABEL, LABEL_VALUES, WEIGHT
from census_mtl.errors import ProjectError


class RawDataError(ProjectError, ValueError):
    """A raw file does not follow the Census-Income format."""


# Plausible ranges of the numbers (UCI's top codes are 99,999 and 9,999; CPS weeks are 0-52).
BOUNDS: dict[str, tuple[int, int]] = {
    "age": (0, 120),
    "wage_per_hour": (0, 99_999),
    "capital_gains": (0, 99_999),
    "capital_losses": (0, 99_999),
    "stock_dividends": (0, 99_999),
    "num_emp": (0, 6),
    "weeks_worked": (0, 52),
}
FINITE_WEIGHT = pa.Check(
    lambda weights: np.isfinite(weights) & (weights >= 0), name="finite_and_non_negative"
)
WHOLE = pa.Check(lambda values: np.isfinite(values) & (values % 1 == 0), name="whole_number")


def _column(column: str, categories: bool) -> pa.Column:
    """A column's type and domain; ``categories`` checks category values against UCI's."""
    if column == WEIGHT:
        dtype, checks = "float64", [FINITE_WEIGHT]
    elif column in BOUNDS:  # read as floats, so that 38.7 or 1e308 fail instead of truncating
        dtype, checks = "float64", [WHOLE, pa.Check.in_range(*BOUNDS[column])]
    elif column == LABEL:
        dtype, checks = "str", [pa.Check.isin(LABEL_VALUES)]
    elif column in INTEGER_CODED:  # codes such as 38.7 fail instead of truncating to 38
        dtype, checks = "float64", [WHOLE]
        checks += [pa.Check.isin(CATEGORIES[column])] if categories else []
    else:
        dtype = "str"
        checks = [pa.Check.isin(CATEGORIES[column])] if categories else []
    # An empty label is a missing one: that row's income task is unlabelled (masked).
    return pa.Column(dtype, checks=checks, coerce=True, nullable=column == LABEL)


def census_schema(categories: bool = True) -> pa.DataFrameSchema:
    """The 42 columns, typed and checked; ``categories=False`` accepts unseen category values."""
    return pa.DataFrameSchema(
        {column: _column(column, categories) for column in COLUMNS}, strict=True, ordered=True
    )


CENSUS_SCHEMA = census_schema()
SCORING_SCHEMA = census_schema(categories=False)  # unseen categories go to the unknown slot


def typed(table: pd.DataFrame) -> pd.DataFrame:
    """A validated table with its whole-number columns (numbers and codes) as ``int64``."""
    whole = [*BOUNDS, *INTEGER_CODED]
    return table.astype({c: "int64" for c in whole if c in table.columns})


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
        return typed(CENSUS_SCHEMA.validate(named, lazy=True))
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
