"""A kill while a model file is written leaves the previous model whole (issue 12, row 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from census_mtl.models import ModelArtifact, TrainedRun
from census_mtl.models.artifact import load_artifact, save_artifact
from census_mtl.models.registry import model_params
from tests.models.test_networks import ENCODER, LAYOUT, PARAMS, TASKS, make

# Re-save the model, but stop (to be killed) after half of the new file is written.
SLOW_WRITER = """
import sys, time
from pathlib import Path
import census_mtl.models.artifact as artifact
from census_mtl.atomic import atomic_path

def half_then_stall(path, data):
    with atomic_path(path) as part:
        part.write_bytes(bytes(data)[: len(data) // 2])
        Path(sys.argv[2]).write_text("half written")
        time.sleep(120)

artifact.write_bytes = half_then_stall
artifact.save_artifact(artifact.load_artifact(Path(sys.argv[1])), Path(sys.argv[1]))
"""


def test_killed_while_saving_leaves_the_previous_model(tmp_path):
    net = make("mmoe").eval()
    run = TrainedRun(1, 1, 1, 0.1, {t: 0.6 for t in TASKS}, net.state_dict())
    path = tmp_path / "mmoe" / "model.pt"
    params = model_params("mmoe", PARAMS["mmoe"])
    save_artifact(ModelArtifact(params, tuple(TASKS), ENCODER, LAYOUT, (run,)), path)
    before = path.read_bytes()
    marker = tmp_path / "half"
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(path), str(marker)])
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert writer.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert path.read_bytes() == before  # the kill hit the temporary file, not the model
    assert load_artifact(path).runs[0].seed == 1
