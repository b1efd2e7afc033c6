"""Every file the project writes is whole or absent (issue 33, "Outputs written through Kedro
datasets are not atomic"): killed writers, a full disk, a journal cut mid-line."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
from kedro.io import DatasetError

from census_mtl.atomic import DiskFullError, remove_stale_parts
from census_mtl.cli import expected_cause
from census_mtl.datasets.atomic import (
    CSVDataset,
    JSONDataset,
    MissingInputError,
    ParquetDataset,
    TextDataset,
)
from census_mtl.models import ModelArtifact, TrainedRun, build_model
from census_mtl.models.artifact import save_artifact
from census_mtl.models.registry import model_params
from census_mtl.training.checkpoints import Checkpoints
from census_mtl.tuning.journal import HeartbeatJournalStorage
from tests.models.test_networks import ENCODER, LAYOUT

BIG = {"name": "share_bottom", "bottom_hidden_units": [512, 512]}

KILLED_WRITER = """
import sys, pandas as pd
from census_mtl.datasets.atomic import CSVDataset
frame = pd.DataFrame({"x": range(2_000_000)})
CSVDataset(filepath=sys.argv[1]).save(frame)
"""


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs: a write that does not fit fails with ENOSPC."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_killed_writer_leaves_the_previous_file_and_its_temporary_is_removed(tmp_path):
    path = tmp_path / "predictions.csv"
    CSVDataset(filepath=str(path)).save(pd.DataFrame({"x": [1, 2]}))
    before = path.read_bytes()
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)])
    part = tmp_path / f".predictions.csv.{writer.pid}.part"
    while writer.poll() is None and not (part.exists() and part.stat().st_size > 1_000_000):
        time.sleep(0.005)
    writer.kill()
    writer.wait()
    assert path.read_bytes() == before  # the old file, whole
    assert part.exists()  # the killed writer's temporary...
    assert remove_stale_parts(tmp_path) == [part] and not part.exists()  # ...goes at next run
    alive = tmp_path / f".other.json.{os.getpid()}.part"  # a live writer's stays
    alive.write_text("{")
    assert remove_stale_parts(tmp_path) == [] and alive.exists()


@pytest.mark.parametrize(
    ("dataset", "small", "big"),
    [
        (CSVDataset, pd.DataFrame({"x": [1]}), pd.DataFrame({"x": range(200_000)})),
        (JSONDataset, {"auc": 0.95}, {"auc": list(range(200_000))}),
        (TextDataset, "# report", "#" * 400_000),
    ],
)
def test_a_full_disk_is_one_line_and_the_previous_file_is_intact(small_disk, dataset, small, big):
    path = small_disk / "out"
    writer = dataset(filepath=str(path))
    writer.save(small)
    before = path.read_bytes()
    with pytest.raises(Exception) as caught:
        writer.save(big)
    cause = expected_cause(caught.value)
    assert isinstance(cause, DiskFullError)
    assert str(cause) == f"{path}: no space left on device; the previous file is intact"
    assert path.read_bytes() == before
    assert [p.name for p in small_disk.iterdir()] == ["out"]  # no partial file left


def test_a_journal_cut_mid_line_keeps_working(tmp_path):
    path = tmp_path / "journal.log"

    def study() -> optuna.Study:
        storage = HeartbeatJournalStorage(path, heartbeat_interval=1)
        return optuna.create_study(study_name="s", storage=storage, load_if_exists=True)

    study().optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with open(path, "ab") as f:
        f.write(b'{"op_code": 4, "worker_id": "cut')  # a write that the disk cut short
    for _ in range(2):  # every later run reads and appends, as before the cut
        study().optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert len(study().trials) == 4
    assert path.read_bytes().endswith(b"\n")


def test_a_full_disk_while_saving_a_model_is_one_line(small_disk):
    network = build_model("share_bottom", LAYOUT, ["a", "b"], BIG)  # about 1 MB of weights
    run = TrainedRun(1, 1, 1, 0.1, {"a": 0.6, "b": 0.6}, network.state_dict())
    artifact = ModelArtifact(model_params("share_bottom", BIG), ("a", "b"), ENCODER, LAYOUT, (run,))
    path = small_disk / "model.pt"
    path.write_bytes(b"previous")
    with pytest.raises(DiskFullError, match=r"model\.pt: no space left on device"):
        save_artifact(artifact, path)
    checkpoints = Checkpoints(small_disk)
    with pytest.raises(DiskFullError, match=r"last-seed1\.pt: no space left on device"):
        checkpoints.save(1, {"model": network.state_dict()})
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in small_disk.iterdir()) == ["model.pt"]


def test_a_file_no_run_has_written_says_to_run_its_pipeline(tmp_path):
    dataset = ParquetDataset(filepath=str(tmp_path / "model_input.parquet"))
    with pytest.raises(DatasetError) as error:
        dataset.load()
    cause = expected_cause(error.value)
    assert isinstance(cause, MissingInputError)
    assert "does not exist yet: run the pipelines that write it first" in str(cause)
