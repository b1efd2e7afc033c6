"""Ordinary bad files to score (issue 33, "Scoring aborts on ordinary bad files"): each used to
end in a traceback or a silent truncation; each is now a reported row, or a whole run."""

from __future__ import annotations

import gzip
import tracemalloc

import pandas as pd
import pytest

from census_mtl.config.project import Predict, Task
from census_mtl.data.validation import RawDataError, validate_census
from census_mtl.features import FeatureEncoder, make_labels
from census_mtl.inference.__main__ import main as inference_cli
from census_mtl.inference.reading import read_lines
from census_mtl.inference.scoring import score_file
from census_mtl.models import FeatureLayout, ModelArtifact, TrainedRun, build_model
from census_mtl.models.artifact import save_artifact
from census_mtl.models.registry import model_params
from census_mtl.pipelines.preprocess.nodes import feature_layout
from tests.inference.test_files import _lines
from tests.pipelines.conftest import preprocessor

TASKS = ("income", "marital")


def _artifact() -> ModelArtifact:
    """An untrained small network behind the encoder of the synthetic training table."""
    params = model_params("share_bottom", {"name": "share_bottom", "bottom_hidden_units": [8]})
    layout = FeatureLayout.from_dict(feature_layout(preprocessor()))
    network = build_model("share_bottom", layout, list(TASKS), params)
    run = TrainedRun(1, 1, 1, 0.1, dict.fromkeys(TASKS, 0.6), network.state_dict())
    return ModelArtifact(params, TASKS, FeatureEncoder.from_dict(preprocessor()), layout, (run,))


@pytest.fixture
def lines(census_test) -> list[str]:
    return _lines(census_test.head(4))


def _score(tmp_path, text: str, **options) -> tuple[pd.DataFrame, pd.DataFrame]:
    path = tmp_path / "in.csv"
    path.write_text(text)
    return score_file(read_lines(path, chunksize=2, **options), _artifact(), Predict())


def _with(line: str, index: int, value: str) -> str:
    fields = line.rstrip("\n").split(", ")
    fields[index] = value
    return ", ".join(fields) + "\n"


def test_an_empty_field_is_a_bad_row(tmp_path, lines):
    scored, bad = _score(tmp_path, _with(lines[0], 1, "") + "".join(lines[1:]))
    assert scored["line"].tolist() == [2, 3, 4]
    assert bad[["line", "column", "value"]].to_dict("records") == [
        {"line": 1, "column": "class_worker", "value": ""}
    ]


def test_an_unbalanced_quote_is_an_ordinary_character(tmp_path, lines):
    scored, bad = _score(tmp_path, _with(lines[0], 1, '"Private') + lines[1])
    assert scored["line"].tolist() == [1, 2] and bad.empty  # an unseen category: unknown slot


@pytest.mark.parametrize("text", ["", "\n\n", "a, b, c\nd, e\n"])
def test_a_file_or_chunk_without_a_valid_row_scores_none(tmp_path, text):
    scored, bad = _score(tmp_path, text)
    assert scored.empty and list(scored.columns) == ["line", "p_income", "p_marital"]
    assert bad["line"].tolist() == [1, 2][: text.count(",") and 2]


def test_whole_number_codes_must_be_whole_at_scoring_and_ingest(tmp_path, lines, census_test):
    scored, bad = _score(tmp_path, _with(lines[0], 2, "38.7") + _with(lines[1], 40, "94.5"))
    assert scored.empty
    assert bad[["column", "value", "problem"]].to_dict("records") == [
        {"column": "det_ind_code", "value": "38.7", "problem": "whole_number"},
        {"column": "year", "value": "94.5", "problem": "whole_number"},
    ]
    raw = census_test.head(3).astype(object)
    raw.iloc[1, 2] = 38.7
    with pytest.raises(RawDataError, match=r"column 'det_ind_code', line 2: whole_number"):
        validate_census(raw.set_axis(range(42), axis=1), "train.gz")


def test_an_over_long_line_is_reported_without_being_held(tmp_path, lines):
    path = tmp_path / "long.gz"
    long = "x" * 50_000_000  # 50 MB of one line, 50 KB gzipped
    path.write_bytes(gzip.compress((lines[0] + long + "\n" + lines[1]).encode()))
    tracemalloc.start()
    chunks = list(read_lines(path, chunksize=10, max_line_chars=1_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000  # the line is read past in pieces, never held
    rows, bad = chunks[0]
    assert rows.index.tolist() == [1, 3]
    assert bad.to_dict("records") == [
        {"line": 2, "column": "", "value": "x" * 60, "problem": "longer than 1,000 characters"}
    ]


def test_the_cli_refuses_bad_paths_and_options_in_one_line(tmp_path, lines, capsys):
    models = tmp_path / "models"
    save_artifact(_artifact(), models / "share_bottom" / "model.pt")
    (tmp_path / "in.csv").write_text("".join(lines))
    common = ["--model", "share_bottom", "--models-dir", str(models)]
    cases = {
        "does not exist": [str(tmp_path / "none.csv"), "--out", str(tmp_path / "o.csv")],
        f"{tmp_path} is a folder: give a census": [str(tmp_path), "--out", "o.csv"],
        "is a folder: give the path of a CSV": [str(tmp_path / "in.csv"), "--out", str(tmp_path)],
    }
    for message, argv in cases.items():
        assert inference_cli(["score", *argv, *common]) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    for option in ["--chunksize", "--max-line-chars"]:
        with pytest.raises(SystemExit) as exit_:
            inference_cli(["score", str(tmp_path / "in.csv"), "--out", "o.csv", option, "0"])
        assert exit_.value.code == 2
        assert "a whole number of at least 1" in capsys.readouterr().err


def test_a_missing_predict_input_is_one_line_through_kedro(tmp_path):
    from kedro.io import DataCatalog

    from census_mtl.cli import expected_cause
    from census_mtl.datasets.lines import CensusLinesDataset

    catalog = DataCatalog({"predict_input": CensusLinesDataset(str(tmp_path / "none.csv"))})
    with pytest.raises(Exception) as caught:
        catalog.load("predict_input")
    cause = expected_cause(caught.value)
    assert str(cause) == (
        f"{tmp_path / 'none.csv'} does not exist: give a census-format file to score "
        "(--params predict_input=PATH)"
    )


def test_an_empty_label_is_a_missing_one_at_ingest_and_is_not_needed_to_score(
    tmp_path, lines, census_test
):
    scored, bad = _score(tmp_path, _with(lines[0], 41, "") + lines[1])
    assert scored["line"].tolist() == [1, 2] and bad.empty
    raw = census_test.head(3).astype(object)
    raw.iloc[1, 41] = float("nan")  # an empty last field, as pandas reads it
    table = validate_census(raw.set_axis(range(42), axis=1), "train.gz")
    assert table["income_50k"].isna().tolist() == [False, True, False]
    labels = make_labels(table, {"income": Task(column="income_50k", positive=["50000+."])})
    assert labels["y__income"].isna().tolist() == [False, True, False]
