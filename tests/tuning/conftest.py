"""A throwaway PostgreSQL server for the distributed-tuning tests (Debian's ``postgresql``).

It listens on 127.0.0.1 (a free port) with its socket and data in a temporary folder, and is
stopped at the end of the session. Without the server binaries the tests that need it are
skipped, unless ``CENSUS_MTL_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throwaway server: ``url`` (the plain ``postgresql://`` form the docs give), and
    ``stop``/``start`` to take it away from running workers and bring it back."""

    def __init__(self, bindir: str, root: Path) -> None:
        self.bindir, self.root, self.port = bindir, root, _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/optuna"

    def run(self, *command: str) -> None:
        done = subprocess.run(
            [*self.as_user, *command], capture_output=True, text=True, cwd=self.root
        )
        assert done.returncode == 0, f"{command[0]}: {done.stdout}{done.stderr}"

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        data, log = str(self.root / "data"), str(self.root / "log")
        self.run(f"{self.bindir}/pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self.run(f"{self.bindir}/pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "stop")


@pytest.fixture(scope="session")
def postgres_server():
    """A fresh server with an ``optuna`` database, stopped at the end of the session."""
    bindir = _binaries()
    if bindir is None:
        if os.environ.get("CENSUS_MTL_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL server binaries not found (apt-get install postgresql)")
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="census-mtl-postgres-"))  # pytest's is root-only
    server = PostgresServer(bindir, root)
    if server.as_user:  # the server refuses to run as root
        shutil.chown(root, "postgres")
    server.run(
        f"{bindir}/initdb", "-D", str(root / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"
    )
    server.start()
    try:
        server.run(
            f"{bindir}/createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(server.port),
            "-U",
            "postgres",
            "optuna",
        )
        yield server
    finally:
        subprocess.run(
            [
                *server.as_user,
                f"{bindir}/pg_ctl",
                "-D",
                str(root / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server) -> str:
    """``postgresql://postgres@127.0.0.1:<port>/optuna``: psycopg 3, the installed driver."""
    return postgres_server.url
