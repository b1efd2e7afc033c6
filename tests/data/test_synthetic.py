import gzip

import pandas as pd

from census_mtl.data.schema import CATEGORIES, COLUMNS, LABEL, LABEL_VALUES
from census_mtl.data.synthetic import synthetic_frame, write_synthetic


def test_frame_has_census_columns_and_known_values():
    frame = synthetic_frame(500, seed=3)
    assert list(frame.columns) == list(COLUMNS)
    assert len(COLUMNS) == 42
    for column, values in CATEGORIES.items():
        if values is not None:
            assert set(frame[column]) <= set(values), column
    assert set(frame[LABEL]) == set(LABEL_VALUES)


def test_frame_is_seeded():
    pd.testing.assert_frame_equal(synthetic_frame(200, 1), synthetic_frame(200, 1))
    assert not synthetic_frame(200, 1).equals(synthetic_frame(200, 2))


def test_labels_follow_features():
    frame = synthetic_frame(5000, seed=0)
    rich = frame[LABEL] == LABEL_VALUES[1]
    single = frame["marital_stat"] == "Never married"
    assert 0.02 < rich.mean() < 0.2
    assert frame.loc[rich, "weeks_worked"].mean() > frame.loc[~rich, "weeks_worked"].mean() + 10
    assert frame.loc[single, "age"].mean() < frame.loc[~single, "age"].mean() - 10


def test_files_use_the_uci_format(tmp_path):
    train, test = write_synthetic(tmp_path, 30, 20, seed=0)
    assert train.name == "census-income.data.gz" and test.name == "census-income.test.gz"
    lines = gzip.decompress(train.read_bytes()).decode().splitlines()
    assert len(lines) == 30
    assert all(len(line.split(", ")) == 42 for line in lines)
    assert lines[0].endswith((" - 50000.", " 50000+."))
