"""``kedro viz run`` serves the whole project; the server and its children are stopped after."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
DEAD_PROXY = "http://127.0.0.1:9"


def _free_port() -> int:
    """A free port below 49152: kedro-viz refuses the ephemeral range that ``bind(0)`` uses."""
    for port in random.Random().sample(range(20000, 45000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 45000")


def _get_json(url: str, deadline: float, server: subprocess.Popen, log: Path) -> dict:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"kedro viz exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    raise AssertionError(f"no answer from {url}")


def _live_members(group: int) -> list[int]:
    """Processes of ``group`` that still run (zombies excluded)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _stop_group(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left after 15 s."""
    os.killpg(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _live_members(server.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _live_members(server.pid):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)


def test_viz_lists_pipelines_nodes_and_layers(project_copy: Path):
    port = _free_port()
    kedro = str(Path(sys.executable).with_name("kedro"))
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    # kedro-viz asks PyPI for updates at start, with no switch: a dead proxy keeps it local.
    env |= {"HTTPS_PROXY": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY, "NO_PROXY": "127.0.0.1,localhost"}
    log = (project_copy / "viz.log").open("w")
    server = subprocess.Popen(
        [kedro, "viz", "run", "--host", "127.0.0.1", "--port", str(port), "--no-browser"],
        cwd=project_copy,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so its children stop with it
    )
    try:
        url = f"http://127.0.0.1:{port}/api/main"
        data = _get_json(url, time.monotonic() + 120, server, project_copy / "viz.log")
    finally:
        _stop_group(server)
        log.close()
    pipelines = {p["id"] for p in data["pipelines"]}
    assert {"__default__", "ingest", "preprocess", "ple", "train_ple", "compare"} <= pipelines
    names = {n["name"] for n in data["nodes"]}
    assert {"validate_train", "fit_preprocessor", "compare_models"} <= names
    assert "ple" in {n["name"] for n in data["nodes"] if n["type"] == "modularPipeline"}
    layers = data["layers"]  # ordered by data flow; kedro-viz sorts ties by name
    assert set(layers) == {
        "raw",
        "intermediate",
        "primary",
        "feature",
        "model_input",
        "models",
        "model_output",
        "reporting",
    }
    assert layers[:2] == ["raw", "intermediate"] and layers[-1] == "reporting"
    assert layers.index("primary") < layers.index("model_input") < layers.index("models")
    assert not _live_members(server.pid)  # the server's children are gone too
