"""Files a user hands to scoring: lines with a wrong field count (issue 12, row 9), model
paths and formats (row 11), and the encoder a model carries (issue 15)."""

from __future__ import annotations

import gzip
import json
import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import KBinsDiscretizer, OrdinalEncoder, StandardScaler

from census_mtl.data.schema import NUMERIC
from census_mtl.features import FeatureEncoder, encode, fit_encoder
from census_mtl.inference.reading import read_lines
from census_mtl.models import ModelArtifact, TrainedRun
from census_mtl.models.artifact import ArtifactError, load_artifact, resolve_model_file
from census_mtl.models.registry import model_params
from tests.models.test_networks import ENCODER, LAYOUT, PARAMS, TASKS, make


def _lines(frame: pd.DataFrame) -> list[str]:
    return [", ".join(map(str, row)) + "\n" for row in frame.astype(str).itertuples(index=False)]


@pytest.mark.parametrize("compress", [False, True])
def test_lines_with_a_wrong_field_count_are_reported_and_skipped(census_test, tmp_path, compress):
    lines = _lines(census_test.head(12))
    lines[2] = lines[2].rstrip("\n") + ", extra\n"  # 43 fields
    lines[6] = lines[6].split(", ", 1)[1]  # 41 fields in a 42-field file
    lines.insert(9, "\n")  # a blank line is no row
    data = "".join(lines).encode()
    path = tmp_path / ("in.gz" if compress else "in.csv")
    path.write_bytes(gzip.compress(data) if compress else data)
    chunks = list(read_lines(path, chunksize=5))
    rows = pd.concat(c[0] for c in chunks)
    bad = pd.concat(c[1] for c in chunks)
    assert rows.index.tolist() == [1, 2, 4, 5, 6, 8, 9, 11, 12, 13]
    assert rows.shape[1] == 42 and rows.loc[4, "age"] == census_test["age"].iloc[3]
    assert bad[["line", "problem"]].to_dict("records") == [
        {"line": 3, "problem": "43 fields; expected 42"},
        {"line": 7, "problem": "41 fields; expected 42"},
    ]


def test_model_paths_stay_inside_the_model_folder(tmp_path):
    models = tmp_path / "06_models"
    assert resolve_model_file("ple", models) == (models / "ple" / "model.pt").resolve()
    assert resolve_model_file("ple/model.pt", models) == (models / "ple" / "model.pt").resolve()
    assert resolve_model_file(tmp_path / "x.pt", models) == tmp_path / "x.pt"  # explicit
    for escape in ["../x", "../../../tmp/x", "ple/../../x.pt"]:
        with pytest.raises(ArtifactError, match="is outside the model folder"):
            resolve_model_file(escape, models)


def test_a_pickled_model_is_never_loaded(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2]}))
    with pytest.raises(ArtifactError, match=r"a pickle, not a census-mtl model file.*retrain"):
        load_artifact(path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ArtifactError, match=r"notes\.txt: not a census-mtl model file"):
        load_artifact(tmp_path / "notes.txt")


def _artifact() -> ModelArtifact:
    run = TrainedRun(1, 1, 1, 0.1, {t: 0.6 for t in TASKS}, make("mmoe").state_dict())
    params = model_params("mmoe", PARAMS["mmoe"])
    return ModelArtifact(params, tuple(TASKS), ENCODER, LAYOUT, (run,))


def test_a_model_carries_its_encoder_and_one_without_it_is_refused(tmp_path):
    payload = _artifact().to_payload()
    assert ModelArtifact.from_payload(payload).encoder == ENCODER
    meta = json.loads(payload["meta"])
    older = {**payload, "meta": json.dumps({**meta, "format": "census-mtl model v1"})}
    with pytest.raises(ArtifactError, match=r"'census-mtl model v1'.*retrain it"):
        ModelArtifact.from_payload(older)
    foreign = {**payload, "meta": json.dumps({**meta, "encoder": {"numeric": {}}})}
    with pytest.raises(ArtifactError, match="its encoder: not a census-mtl preprocessor"):
        ModelArtifact.from_payload(foreign)


def test_an_encoder_of_another_preprocess_run_is_refused():
    other = FeatureEncoder(ENCODER.numeric, {**ENCODER.categories, "2": list("abc")}, {})
    with pytest.raises(ArtifactError, match="different preprocess runs"):
        replace(_artifact(), encoder=other)


def test_json_encoder_encodes_as_scikit_learn_does(census_train, census_test):
    columns = ["age", "wage_per_hour", "education", "det_ind_code", "sex"]
    numeric = [c for c in columns if c in NUMERIC]
    categorical = [c for c in columns if c not in NUMERIC]
    encoder = FeatureEncoder.from_dict(
        json.loads(json.dumps(fit_encoder(census_train, columns, numeric_bins=8).to_dict()))
    )
    ours = encode(encoder, census_test)
    scaled = StandardScaler().fit(census_train[numeric]).transform(census_test[numeric])
    ordinal = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    codes = ordinal.fit(census_train[categorical]).transform(census_test[categorical]) + 1
    binner = KBinsDiscretizer(
        8,
        encode="ordinal",
        strategy="quantile",
        quantile_method="averaged_inverted_cdf",
        subsample=None,
    )
    bins = binner.fit(census_train[numeric]).transform(census_test[numeric]) + 1
    expected = np.hstack([scaled, codes, bins]).astype(np.float32)
    np.testing.assert_array_equal(ours.to_numpy(), expected)
    assert list(ours.columns[:2]) == ["num__age", "num__wage_per_hour"]
