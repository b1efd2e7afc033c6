import gzip
import hashlib
import http.server
import shutil
import socket
import threading
from functools import partial
from pathlib import Path

import pytest

from census_mtl.data.__main__ import main
from census_mtl.data.fetch import RAW_FILES, FetchError, RawFile, fetch, verify
from tests.conftest import SHARED_DATA


def _expected(raw_dir: Path) -> tuple[RawFile, ...]:
    """Checksums of the synthetic files, standing in for UCI's."""
    files = []
    for raw in RAW_FILES:
        text = gzip.decompress((raw_dir / raw.name).read_bytes())
        files.append(RawFile(raw.name, hashlib.sha256(text).hexdigest(), text.count(b"\n")))
    return tuple(files)


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _leftovers(raw_dir: Path) -> list[str]:
    return sorted(p.name for p in raw_dir.iterdir())


def _installed(files) -> list[str]:
    """Each verified file and the checksum recorded beside it."""
    return sorted([f.name for f in files] + [f"{f.name}.sha256" for f in files])


def test_copies_from_local_dir_and_verifies(synthetic_raw_dir, tmp_path):
    files = _expected(synthetic_raw_dir)
    paths = fetch(tmp_path / "raw", synthetic_raw_dir, url=_closed_port_url(), files=files)
    assert [p.name for p in paths] == [f.name for f in files]
    assert _leftovers(tmp_path / "raw") == _installed(files)


def test_uses_environment_variable(synthetic_raw_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CENSUS_DATA_DIR", str(synthetic_raw_dir))
    fetch(tmp_path, url=_closed_port_url(), files=_expected(synthetic_raw_dir))
    assert len(_leftovers(tmp_path)) == 4


def test_present_verified_files_are_kept(synthetic_raw_dir, tmp_path):
    files = _expected(synthetic_raw_dir)
    for f in files:
        shutil.copy(synthetic_raw_dir / f.name, tmp_path / f.name)
    fetch(tmp_path, source_dir=None, url=_closed_port_url(), files=files)
    assert _leftovers(tmp_path) == _installed(files)


def test_downloads_over_http(synthetic_raw_dir, tmp_path):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(synthetic_raw_dir))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        fetch(tmp_path, url=url, files=_expected(synthetic_raw_dir))
    finally:
        server.shutdown()
    assert len(_leftovers(tmp_path)) == 4


def test_checksum_mismatch_leaves_nothing(synthetic_raw_dir, tmp_path):
    with pytest.raises(FetchError, match=r"does not match UCI's census-income\.data\.gz") as err:
        fetch(tmp_path / "raw", synthetic_raw_dir, url=_closed_port_url())
    assert "CENSUS_DATA_DIR" in str(err.value)
    assert _leftovers(tmp_path / "raw") == []


def test_truncated_gzip_is_rejected(synthetic_raw_dir, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for f in RAW_FILES:
        blob = (synthetic_raw_dir / f.name).read_bytes()
        (source / f.name).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FetchError, match="not a complete gzip file"):
        fetch(tmp_path / "raw", source, url=_closed_port_url(), files=_expected(synthetic_raw_dir))
    assert _leftovers(tmp_path / "raw") == []


def test_no_network_says_what_to_do(tmp_path):
    with pytest.raises(FetchError, match="cannot download") as err:
        fetch(tmp_path, url=_closed_port_url())
    assert "copy UCI's file there, set CENSUS_DATA_DIR" in str(err.value)
    assert _leftovers(tmp_path) == []


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    code = main(["fetch", "--raw-dir", str(tmp_path), "--url", _closed_port_url()])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: census-income.data.gz is not in") and err.count("\n") == 1


def test_cli_writes_synthetic_files(tmp_path):
    assert main(["synth", "--raw-dir", str(tmp_path), "--train-rows", "10"]) == 0
    assert _leftovers(tmp_path) == _installed(RAW_FILES)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the real UCI files are not beside the repo")
def test_real_files_match_the_published_checksums():
    for raw in RAW_FILES:
        verify(SHARED_DATA / raw.name, raw)
