"""Census-format files (gzip or plain text) read in chunks of lines, never all at once.

Each line is split on commas first: a line with the wrong number of fields is reported
(line number, field count) and skipped instead of aborting the whole read, as pandas would.
A line longer than ``max_line_chars`` is reported and skipped without being held in memory,
and quotes are ordinary characters (UCI's format has none). The rest of each chunk is parsed
as UCI's format, indexed by its line numbers in the file.
"""

from __future__ import annotations

import csv
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
    "quoting": csv.QUOTE_NONE,  # a stray quote is a bad value of its row, not a parse error
}
MAX_LINE_CHARS = 10_000  # a census line has about 500 characters


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


def _bounded(f, limit: int) -> Iterator[tuple[str, bool]]:
    """Each line of ``f`` and whether it is longer than ``limit`` characters; a long line is
    read past in pieces of ``limit`` and only its start is kept."""
    while line := f.readline(limit + 1):
        if len(line) <= limit or line.endswith("\n"):
            yield line, False
            continue
        while (rest := f.readline(limit + 1)) and not rest.endswith("\n"):
            pass
        yield line[:60], True


def _too_long(number: int, start: str, limit: int) -> dict:
    problem = f"longer than {limit:,} characters"
    return {"line": number, "column": "", "value": start, "problem": problem}


def read_lines(
    path: Path, chunksize: int, max_line_chars: int = MAX_LINE_CHARS
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """For each chunk: its parsed rows (index: line number) and the lines with a bad field count
    or over ``max_line_chars`` characters.

    The first line with 42 or 41 fields sets the width that every other line must have.
    """
    width, first = None, 1
    with _open(path) as f:
        lines = _bounded(f, max_line_chars)
        for chunk in iter(lambda: list(islice(lines, chunksize)), []):
            good, numbers, bad = [], [], []
            for number, (line, too_long) in enumerate(chunk, start=first):
                if too_long:
                    bad.append(_too_long(number, line, max_line_chars))
                    continue
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
