"""Nodes that turn a raw UCI file into a validated, typed table."""

from __future__ import annotations

import pandas as pd

from census_mtl.data.schema import RAW_FILE_NAMES
from census_mtl.data.validation import validate_census


def validate_train(raw: pd.DataFrame) -> pd.DataFrame:
    """Validate the raw train file (``census-income.data.gz``)."""
    return validate_census(raw, f"{RAW_FILE_NAMES['train']} (train)")


def validate_test(raw: pd.DataFrame) -> pd.DataFrame:
    """Validate the raw test file (``census-income.test.gz``)."""
    return validate_census(raw, f"{RAW_FILE_NAMES['test']} (test)")
