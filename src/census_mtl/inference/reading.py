"""Census-format files (gzip or plain text) read in chunks of lines, never all at once.

Each line is split on commas first: a line with the wrong number of fields is reported
(line number, field count) and skipped instead of aborting the whole read, as pandas would.
The rest of each chunk is parsed as UCI's format, indexed by its line numbers in the file.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import pandas as pd

from census_mtl.data.schema import COLUMNS, LABEL

BAD_ROW_COLUMNS = ["line", "column", "value", "problem"]
FIELD_COUNTS = (len(COLUMNS), len(COLUMNS) - 1)  # UCI's 42, or 41 without the income label
CSV_ARGS = {
    "header": None,
    "sep": ",",
    "skipinitialspace": True,
    "keep_default_na": False,
    "na_values": [""],
}


def _open(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    return opener(path, "rt", encoding="utf-8", errors="replace", newline="")


def _parse(lines: list[str], numbers: list[int], width: int) -> pd.DataFrame:
    names = list(COLUMNS) if width == len(COLUMNS) else [c for c in COLUMNS if c != LABEL]
    if not lines:
        return pd.DataFrame(columns=names)
    frame = pd.read_csv(io.StringIO("".join(lines)), names=names, **CSV_ARGS)
    return frame.set_axis(pd.Index(numbers, name="line"), axis=0)


def _bad_line(number: int, line: str, count: int, width: int | None) -> dict:
    expected = width or " or ".join(map(str, FIELD_COUNTS))
    problem = f"{count} fields; expected {expected}"
    return {"line": number, "column": "", "value": line.strip()[:60], "problem": problem}


def read_lines(path: Path, chunksize: int) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """For each chunk: its parsed rows (index: line number) and the lines with a bad field count.

    The first line with 42 or 41 fields sets the width that every other line must have.
    """
    width, first = None, 1
    with _open(path) as f:
        for chunk in iter(lambda: list(islice(f, chunksize)), []):
            good, numbers, bad = [], [], []
            for number, line in enumerate(chunk, start=first):
                if not line.strip():
                    continue
                count = line.count(",") + 1
                width = width or (count if count in FIELD_COUNTS else None)
                if count == width:
                    good.append(line if line.endswith("\n") else f"{line}\n")
                    numbers.append(number)
                else:
                    bad.append(_bad_line(number, line, count, width))
            first += len(chunk)
            yield (
                _parse(good, numbers, width or len(COLUMNS)),
                pd.DataFrame(bad, columns=BAD_ROW_COLUMNS),
            )
