"""``kedro viz run`` serves the whole project; the server and its children are stopped after."""

from __future__ import annotations

import json
import os
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, deadline: float, server: subprocess.Popen) -> dict:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"kedro viz exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    raise AssertionError(f"no answer from {url}")


def test_viz_lists_pipelines_nodes_and_layers(project_copy: Path):
    port = _free_port()
    kedro = str(Path(sys.executable).with_name("kedro"))
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    server = subprocess.Popen(
        [kedro, "viz", "run", "--host", "127.0.0.1", "--port", str(port), "--no-browser"],
        cwd=project_copy,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so its children stop with it
    )
    try:
        data = _get_json(f"http://127.0.0.1:{port}/api/main", time.monotonic() + 120, server)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    pipelines = {p["id"] for p in data["pipelines"]}
    assert {"__default__", "ingest", "preprocess", "ple", "train_ple", "compare"} <= pipelines
    names = {n["name"] for n in data["nodes"]}
    assert {"validate_train", "fit_preprocessor", "compare_models"} <= names
    assert "ple" in {n["name"] for n in data["nodes"] if n["type"] == "modularPipeline"}
    assert data["layers"] == [
        "raw", "intermediate", "primary", "model_input", "models", "model_output", "reporting"
    ]  # fmt: skip
    with pytest.raises(ProcessLookupError):
        os.killpg(server.pid, 0)  # the whole group is gone
