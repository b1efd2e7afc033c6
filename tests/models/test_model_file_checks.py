"""Model files that crashed, hung or silently scored NaN (issue 33, "A model file can crash or
hang the process"): each is reproduced first, then refused with one line before use."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from dataclasses import replace

import pytest
import torch

from census_mtl.models import ModelArtifact
from census_mtl.models.artifact import ArtifactError, load_artifact, save_artifact
from census_mtl.training.checkpoints import Checkpoints
from census_mtl.training.loop import NonFiniteWeightsError
from tests.inference.test_bad_files import _artifact as network_artifact
from tests.pipelines.conftest import inputs  # noqa: F401  (the fixture)
from tests.pipelines.train.test_nodes import DEFAULTS, train_model
from tests.training import test_loop

GBDT = {"name": "gbdt", "num_leaves": 7, "max_rounds": 20, "early_stopping_rounds": 5}
PREDICT = (
    "import lightgbm as lgb, numpy as np, sys; "
    "lgb.Booster(model_str=open(sys.argv[1]).read()).predict(np.random.rand(500, {n}))"
)


@pytest.fixture(scope="module")
def gbdt(inputs, tmp_path_factory) -> ModelArtifact:  # noqa: F811
    train, validation, layout = inputs
    folder = tmp_path_factory.mktemp("checkpoints")
    return train_model(train, validation, layout, GBDT, {"seeds": [1]}, DEFAULTS, folder)[0]


def _trees(text: str) -> tuple[int, int, list[str]]:
    start, end = text.index("\nTree=") + 1, text.index("end of trees")
    return start, end, [b for b in re.split(r"(?=^Tree=\d+$)", text[start:end], flags=re.M) if b]


def _craft(text: str, key: str, change, sizes_too: bool = True) -> str:
    """``text`` with the first tree's ``key`` line changed, its tree_sizes made to match."""
    start, end, blocks = _trees(text)
    line = re.search(rf"^{key}=(.*)$", blocks[0], re.M)
    blocks[0] = blocks[0][: line.start()] + f"{key}={change(line[1])}" + blocks[0][line.end() :]
    head = text[:start]
    if sizes_too:
        sizes = " ".join(str(len(b.encode())) for b in blocks)
        head = re.sub(r"^tree_sizes=.*$", f"tree_sizes={sizes}", head, flags=re.M)
    return head + "".join(blocks) + text[end:]


CRAFTED = {  # how LightGBM itself fails on it, and what the check says
    "feature out of range": (
        lambda t: _craft(t, "split_feature", lambda v: "99999999 " + v.split(" ", 1)[1]),
        -11,
        "a split on feature 99999999",
    ),
    "node its own ancestor": (
        lambda t: _craft(
            _craft(t, "left_child", lambda v: "0 " + v.split(" ", 1)[1]),
            "right_child",
            lambda v: "0 " + v.split(" ", 1)[1],
        ),
        "hang",
        "links to node 0",
    ),
    "wrong tree_sizes": (
        lambda t: _craft(t, "num_leaves", lambda v: v + "0", sizes_too=False),
        -6,
        "tree_sizes does not match its trees",
    ),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_crafted_lightgbm_model_is_refused_before_lightgbm_reads_it(gbdt, tmp_path, case):
    craft, failure, message = CRAFTED[case]
    run = gbdt.runs[0]
    bad = craft(run.boosters["income"])
    (tmp_path / "bad.txt").write_text(bad)
    n = len(re.search(r"^feature_names=(.*)$", bad, re.M)[1].split())
    try:  # first the failure, in a process of its own
        done = subprocess.run(
            [sys.executable, "-c", PREDICT.format(n=n), str(tmp_path / "bad.txt")],
            capture_output=True,
            timeout=15,
        )
        assert done.returncode == failure
    except subprocess.TimeoutExpired:
        assert failure == "hang"
    path = tmp_path / "model.pt"
    save_artifact(
        replace(gbdt, runs=(replace(run, boosters={**run.boosters, "income": bad}),)), path
    )
    with pytest.raises(ArtifactError, match=message) as caught:
        load_artifact(path)
    assert len(str(caught.value).splitlines()) == 1
    save_artifact(gbdt, path)
    assert load_artifact(path).runs[0].boosters == run.boosters  # the genuine file loads


def _with_weights(artifact: ModelArtifact, change) -> ModelArtifact:
    run = artifact.runs[0]
    weights = {k: v.clone() for k, v in run.state_dict.items()}
    change(weights)
    return replace(artifact, runs=(replace(run, state_dict=weights),))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: next(iter(w.values())).fill_(float("nan")), "is not finite"),
        (lambda w: w.update({k: torch.zeros(3) for k in list(w)[:1]}), "the network declares"),
        (lambda w: w.pop(next(iter(w))), "weights do not match the network: missing"),
    ],
)
def test_network_weights_must_match_the_declared_network_and_be_finite(tmp_path, change, message):
    path = tmp_path / "model.pt"
    save_artifact(_with_weights(network_artifact(), change), path)
    with pytest.raises(ArtifactError, match=message):
        load_artifact(path)


@pytest.mark.parametrize(("mean", "scale"), [(float("nan"), 1.0), (0.0, 0.0), (0.0, float("inf"))])
def test_encoder_statistics_must_be_finite_with_a_positive_scale(tmp_path, mean, scale):
    artifact = network_artifact()
    column = next(iter(artifact.encoder.numeric))
    numeric = {**artifact.encoder.numeric, column: (mean, scale)}
    payload = replace(artifact, encoder=replace(artifact.encoder, numeric=numeric)).to_payload()
    with pytest.raises(ArtifactError, match=f"column {column!r} has mean"):
        ModelArtifact.from_payload(payload)


def test_a_compressed_archive_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    genuine, crafted = tmp_path / "model.pt", tmp_path / "crafted.pt"
    save_artifact(network_artifact(), genuine)
    with (
        zipfile.ZipFile(genuine) as src,
        zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():  # 2.5 MB on disk could declare 2.5 GB this way
            dst.writestr(info.filename, src.read(info))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was reached"))
    with pytest.raises(ArtifactError, match=r"crafted.pt: record .* is compressed"):
        load_artifact(crafted)


def test_training_neither_resumes_nor_saves_non_finite_weights(tmp_path, monkeypatch):
    test_loop.run(tmp_path)  # a finished run's checkpoint
    checkpoints = Checkpoints(tmp_path)
    saved = checkpoints.load(42, "data-v1", torch.device("cpu"))
    next(iter(saved["best_model"].values())).fill_(float("nan"))
    checkpoints.save(42, saved)
    with pytest.raises(NonFiniteWeightsError, match=r"the checkpoint of seed 42 \(best_model\)"):
        test_loop.run(tmp_path)
    diverging = test_loop.TensorData(
        test_loop.TRAIN.x.clone(), test_loop.TRAIN.y, test_loop.TRAIN.w
    )
    diverging.x[:, 0] = float("inf")
    monkeypatch.setattr(test_loop, "TRAIN", diverging)
    with pytest.raises(NonFiniteWeightsError, match="seed 42 after epoch 1"):
        test_loop.run(tmp_path / "new")
    assert not list((tmp_path / "new").rglob("*.pt"))  # no checkpoint of the NaN weights
