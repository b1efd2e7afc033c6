import numpy as np
import pandas as pd
import pytest

from census_mtl.data.schema import COLUMNS, LABEL
from census_mtl.data.validation import RawDataError, validate_census
from census_mtl.pipelines.ingest.nodes import validate_train


def _raw(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as CSVDataset loads a UCI file: unnamed columns."""
    return frame.set_axis(range(frame.shape[1]), axis=1)


def test_valid_file_is_named_and_typed(census_train):
    table = validate_train(_raw(census_train))
    assert list(table.columns) == list(COLUMNS)
    assert table["age"].dtype == "int64"
    assert table["instance_weight"].dtype == "float64"
    assert table["det_ind_code"].dtype == "int64"


def test_wrong_column_count_names_the_file(census_train):
    with pytest.raises(RawDataError, match=r"census-income.data.gz \(train\): 41 fields per row"):
        validate_train(_raw(census_train.iloc[:, :-1]))


def test_bad_label_names_column_line_and_row(census_train):
    broken = census_train.head(20).copy()
    broken.loc[7, LABEL] = "maybe"
    with pytest.raises(RawDataError) as err:
        validate_census(_raw(broken), "f.gz")
    message = str(err.value)
    assert message.startswith("f.gz: 1 bad values")
    assert "column 'income_50k', line 8" in message and "'maybe'" in message
    assert str(broken.loc[7, "age"]) in message


def test_missing_value_is_reported(census_train):
    broken = census_train.head(20).copy()
    broken["sex"] = broken["sex"].astype(object)
    broken.loc[3, "sex"] = np.nan
    with pytest.raises(RawDataError, match="column 'sex', line 4: not_nullable"):
        validate_census(_raw(broken), "f.gz")


def test_non_numeric_value_is_reported(census_train):
    broken = census_train.head(20).astype({"age": object})
    broken.loc[5, "age"] = "old"
    with pytest.raises(RawDataError, match="column 'age', line 6: coerce_dtype"):
        validate_census(_raw(broken), "f.gz")


@pytest.mark.parametrize("weight", [float("inf"), float("nan"), -1.0])
def test_instance_weight_must_be_finite_and_non_negative(census_train, weight):
    broken = census_train.head(20).copy()
    broken.loc[9, "instance_weight"] = weight
    expected = "not_nullable" if weight != weight else "finite_and_non_negative"
    with pytest.raises(RawDataError, match=f"column 'instance_weight', line 10: {expected}"):
        validate_census(_raw(broken), "f.gz")


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("class_worker", "Prhvate", "isin"),  # a flipped letter in a category
        ("det_ind_code", 99, "isin"),  # an integer code UCI does not have
        ("age", 1e308, "in_range"),  # would overflow to -9223372036854775808
        ("age", 38.7, "whole_number"),  # would truncate to 38
        ("age", -5, "in_range"),
        ("weeks_worked", 53, "in_range"),
    ],
)
def test_every_column_is_checked_against_its_domain(census_train, column, value, check):
    broken = census_train.head(20).astype({column: object})
    broken.loc[4, column] = value
    with pytest.raises(RawDataError, match=f"column '{column}', line 5: {check}"):
        validate_census(_raw(broken), "f.gz")
