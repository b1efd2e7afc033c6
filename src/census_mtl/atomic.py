"""Atomic file writes: a temporary name beside the target, then one rename; a full disk is one
error that names the file; temporaries left by a killed writer are removed later."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from census_mtl.errors import ProjectError

PART = re.compile(r"^\..+\.(\d+)\.part$")  # .<name>.<pid>.part


class DiskFullError(ProjectError, OSError):
    """No space left to write a file; the previous version of the file is intact."""


def disk_full(error: BaseException | None, path: Path | str) -> DiskFullError | None:
    """A ``DiskFullError`` for ``path`` if ``error`` (or what caused it) is ENOSPC."""
    while error is not None:
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return DiskFullError(f"{path}: no space left on device; the previous file is intact")
        error = error.__cause__ or error.__context__
    return None


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename.

    A failure or a kill at any moment leaves the old file (or none) and no partial one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        yield part
        os.replace(part, path)
    except OSError as exc:
        if full := disk_full(exc, path):
            raise full from None
        raise
    finally:
        part.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes | memoryview) -> None:
    """``path`` holds ``data``, written atomically; a full disk is a ``DiskFullError``."""
    with atomic_path(path) as part:
        part.write_bytes(data)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_parts(root: Path) -> list[Path]:
    """Delete the temporaries under ``root`` whose writing process is gone (a kill, a crash)."""
    stale = [
        p
        for p in root.rglob(".*.part")
        if (m := PART.match(p.name)) and p.is_file() and not _alive(int(m[1]))
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
