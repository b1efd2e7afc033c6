"""Fill ``data/01_raw`` with the two UCI files, verified, from the first source that works.

Sources, in order: files already in the target folder, a local folder (``--from`` or
``CENSUS_DATA_DIR``), then the UCI archive. Every file is written under a temporary name and
renamed only once the SHA-256 and row count of its *decompressed* text match. The SHA-256 is
then recorded beside the file (``<file>.sha256``), and ``checked_raw_file`` (which ingest
reads through) compares every later read against that record.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from census_mtl.atomic import atomic_path
from census_mtl.data.schema import RAW_FILE_NAMES
from census_mtl.errors import ProjectError

logger = logging.getLogger(__name__)

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/census-income-mld/"
ENV_DIR = "CENSUS_DATA_DIR"


@dataclass(frozen=True)
class RawFile:
    """A raw file with the checksum and row count of its decompressed text."""

    name: str
    sha256: str
    rows: int


RAW_FILES = (
    RawFile(
        RAW_FILE_NAMES["train"],
        "3676a81db7d3528f3f8b9f3c699d0f0aa28db45e6e994fa0b8ed38327539ee86",
        199_523,
    ),
    RawFile(
        RAW_FILE_NAMES["test"],
        "98402b1ab879573d0a7f38a699a40258080e25e33d3401e7bf9c96d3fa0fab8c",
        99_762,
    ),
)


class FetchError(ProjectError, RuntimeError):
    """A raw file could not be obtained or failed its verification."""


class RawFileChanged(FetchError):
    """A raw file no longer matches the checksum recorded when it was obtained."""


def digest(path: Path) -> tuple[str, int]:
    """The SHA-256 and line count of the decompressed text of the gzip file ``path``."""
    sha, rows = hashlib.sha256(), 0
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                sha.update(block)
                rows += block.count(b"\n")
    except (EOFError, OSError, zlib.error) as exc:
        raise FetchError(f"{path} is not a complete gzip file ({exc}).") from exc
    return sha.hexdigest(), rows


def verify(path: Path, expected: RawFile) -> None:
    """Raise ``FetchError`` unless ``path`` decompresses to the expected text."""
    sha, rows = digest(path)
    if sha != expected.sha256 or rows != expected.rows:
        raise FetchError(
            f"{path} does not match UCI's {expected.name}: sha256 {sha} and "
            f"{rows} rows, expected {expected.sha256} and {expected.rows} rows."
        )


def checksum_path(path: Path) -> Path:
    """Where the SHA-256 of ``path``'s decompressed text is recorded."""
    return path.with_name(f"{path.name}.sha256")


def record_checksum(path: Path, sha: str | None = None) -> None:
    """Record ``sha`` (by default, computed now) beside ``path``, in ``sha256sum``'s format."""
    with atomic_path(checksum_path(path)) as part:
        part.write_text(f"{sha or digest(path)[0]}  {path.name} (decompressed)\n")


def checked_raw_file(path: Path) -> Path:
    """``path``, fetched first if it is a missing UCI file, and matching its recorded SHA-256.

    Raises ``FetchError`` when it cannot be fetched and ``RawFileChanged`` when its text is
    not the text recorded when it was obtained (a flipped letter or digit included).
    """
    known = {raw.name: raw for raw in RAW_FILES}
    if not path.exists() and path.name in known:
        fetch(path.parent, files=(known[path.name],))  # verified on the way in
        return path
    record = checksum_path(path)
    if not record.exists():
        raise FetchError(
            f"{path}: no checksum recorded beside it ({record.name}); obtain the raw files with "
            "`python -m census_mtl.data fetch` (or `synth` for synthetic ones)."
        )
    expected = record.read_text().split()[0]
    sha = digest(path)[0]
    if sha != expected:
        raise RawFileChanged(
            f"{path} changed since it was obtained: the SHA-256 of its text is {sha}, "
            f"{record.name} records {expected}. Delete it; the next run obtains it again."
        )
    return path


def _copy(source: Path, part: Path) -> None:
    if not source.is_file():
        raise FetchError(f"{source} does not exist.")
    shutil.copyfile(source, part)


def _download(url: str, part: Path, timeout: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=part.name[:-5]) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"cannot download {url}: {exc}.") from exc


def _install(raw: RawFile, target: Path, obtain) -> None:
    """Obtain ``raw`` into a temporary file, verify it, then move it to ``target``."""
    part = target.with_name(f".{target.name}.part")
    try:
        obtain(part)
        verify(part, raw)
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)


def fetch(
    raw_dir: Path,
    source_dir: Path | None = None,
    url: str = UCI_URL,
    timeout: float = 60.0,
    files: tuple[RawFile, ...] = RAW_FILES,
) -> list[Path]:
    """Make sure ``raw_dir`` holds both verified raw files and return their paths."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    source_dir = source_dir or (Path(os.environ[ENV_DIR]) if os.environ.get(ENV_DIR) else None)
    paths = []
    for raw in files:
        target = raw_dir / raw.name
        attempts: list[str] = []
        if target.exists():
            try:
                verify(target, raw)
            except FetchError as exc:
                attempts.append(f"present file: {exc}")
            else:
                logger.info("%s is present and verified.", target)
                record_checksum(target, raw.sha256)
                paths.append(target)
                continue
        remote = f"{url.rstrip('/')}/{raw.name}"
        sources = [(remote, lambda part, u=remote: _download(u, part, timeout))]
        if source_dir is not None:
            local = source_dir / raw.name
            sources.insert(0, (str(local), lambda part, s=local: _copy(s, part)))
        for where, obtain in sources:
            try:
                _install(raw, target, obtain)
            except FetchError as exc:
                attempts.append(str(exc))
                continue
            logger.info("%s verified from %s.", target, where)
            record_checksum(target, raw.sha256)
            break
        else:
            for attempt in attempts:
                logger.warning("%s: %s", raw.name, attempt)
            raise FetchError(
                f"{raw.name} is not in {raw_dir} and could not be obtained: copy UCI's file "
                f"there, set {ENV_DIR} (or --from) to a folder that holds it, or allow network "
                f"access to {url} (tried: {'; '.join(a.rstrip('.') for a in attempts)})."
            )
        paths.append(target)
    return paths
