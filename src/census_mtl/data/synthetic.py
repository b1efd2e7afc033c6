"""Synthetic Census-Income files: the UCI format and category values, with learnable labels.

Both labels depend on a few real fields (age, education, sex, weeks worked, capital gains), and
income depends on marital status too, so the two tasks share signal as in the real data.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from census_mtl.atomic import atomic_path
from census_mtl.data.fetch import record_checksum
from census_mtl.data.schema import CATEGORIES, COLUMNS, LABEL, LABEL_VALUES, RAW_FILE_NAMES

_EDUCATION_RANK = {
    "Children": 0,
    "Less than 1st grade": 0,
    "1st 2nd 3rd or 4th grade": 1,
    "5th or 6th grade": 1,
    "7th and 8th grade": 2,
    "9th grade": 2,
    "10th grade": 2,
    "11th grade": 3,
    "12th grade no diploma": 3,
    "High school graduate": 4,
    "Some college but no degree": 5,
    "Associates degree-occup /vocational": 5,
    "Associates degree-academic program": 5,
    "Bachelors degree(BA AB BS)": 7,
    "Masters degree(MA MS MEng MEd MSW MBA)": 8,
    "Prof school degree (MD DDS DVM LLB JD)": 9,
    "Doctorate degree(PhD EdD)": 9,
}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def synthetic_frame(n_rows: int, seed: int) -> pd.DataFrame:
    """Return ``n_rows`` synthetic census rows with the 42 UCI columns."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {
        col: rng.choice(np.asarray(values, dtype=object), n_rows)
        for col, values in CATEGORIES.items()
        if values is not None
    }
    age = rng.integers(0, 91, n_rows)
    adult = age >= 18
    weeks = np.where(adult, rng.integers(0, 53, n_rows), 0)
    gains = np.where(rng.random(n_rows) < 0.05, rng.integers(100, 99_999, n_rows), 0)
    education = np.where(adult, data["education"], "Children")
    rank = np.vectorize(_EDUCATION_RANK.get)(education)
    male = data["sex"] == "Male"
    never_married = ~adult | (rng.random(n_rows) < _sigmoid(2.5 - 0.15 * (age - 18) + 0.5 * male))
    married = np.array(CATEGORIES["marital_stat"][1:], dtype=object)
    z = -9.0 + 0.6 * rank + 0.06 * weeks + 0.04 * np.minimum(age, 60) + 0.8 * male
    z += 2.5 * (gains > 0) - 1.2 * never_married
    rich = adult & (rng.random(n_rows) < _sigmoid(z))
    data |= {
        "age": age,
        "education": education,
        "weeks_worked": weeks,
        "capital_gains": gains,
        "wage_per_hour": np.where(rng.random(n_rows) < 0.06, rng.integers(200, 2_000, n_rows), 0),
        "capital_losses": np.where(rng.random(n_rows) < 0.02, rng.integers(100, 4_000, n_rows), 0),
        "stock_dividends": np.where(rng.random(n_rows) < 0.1, rng.integers(1, 20_000, n_rows), 0),
        "instance_weight": np.round(rng.uniform(40.0, 4_000.0, n_rows), 2),
        "num_emp": np.where(adult, rng.integers(0, 7, n_rows), 0),
        "marital_stat": np.where(never_married, "Never married", rng.choice(married, n_rows)),
        LABEL: np.where(rich, LABEL_VALUES[1], LABEL_VALUES[0]),
    }
    return pd.DataFrame(data)[list(COLUMNS)]


def write_census_file(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` in UCI's format: gzip, no header, ``", "`` between fields."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = frame.astype(str).agg(", ".join, axis=1)
    text = "".join(f"{line}\n" for line in lines).encode("ascii")
    with (
        atomic_path(path) as part,
        open(part, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out,
    ):
        out.write(text)
    record_checksum(path, hashlib.sha256(text).hexdigest())
    return path


def write_synthetic(raw_dir: Path, n_train: int, n_test: int, seed: int) -> list[Path]:
    """Write synthetic train and test files named like UCI's into ``raw_dir``."""
    sizes = {"train": n_train, "test": n_test}
    return [
        write_census_file(synthetic_frame(sizes[split], seed + i), raw_dir / RAW_FILE_NAMES[split])
        for i, split in enumerate(RAW_FILE_NAMES)
    ]
