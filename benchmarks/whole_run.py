"""The whole default comparison, timed: ``dvc repro --force compare`` from the raw files to the
report (fetch, ingest, preprocess, every model's training and evaluation, the blend, compare),
for a baseline commit and then the current checkout, in one script run.

    CENSUS_DATA_DIR=../shared/data/census-income \\
        python benchmarks/whole_run.py --baseline 7e17f87 --out docs/whole-run.json

The current checkout runs in place, so its outputs, ``dvc.lock`` and report are the ones to
commit; the baseline runs in a detached ``git worktree`` of its commit (its own DVC cache, its
own source through ``PYTHONPATH``, this environment's packages). Both fetch from
``$CENSUS_DATA_DIR`` and start without checkpoints. DVC announces each stage; a stage's seconds
run from its announcement to the next one's, and its peak RSS is the most that the whole process
tree (DVC, the Kedro run under it, a compiler it starts) held, sampled every 0.2 s.

The results must not move beyond the seeds' noise: each model's test AUC before the run (the
checkout's committed results) and after it, per task, as DeLong's paired test of the seed-mean
predictions on the same rows and as Welch's test of the seeds' AUCs, both Holm-corrected.
``--seeds-before COMMIT`` adds the second to a finished run's results, against COMMIT's metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from scipy.stats import ttest_ind

from census_mtl.atomic import write_bytes
from census_mtl.metrics import labelled
from census_mtl.paired import delong, holm
from census_mtl.provenance import commit as commit_of
from census_mtl.reporting.comparisons import seed_columns
from census_mtl.reporting.render import difference, markdown_table

PROJECT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"Running stage '([^']+)'")
MODELS = ["ple", "cgc", "mmoe", "share_bottom", "single_task", "esmm", "aitm", "gbdt", "blend"]


def cpu() -> str:
    """The CPU model and the cores this process may use."""
    names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return f"{names[0] if names else 'unknown CPU'}, {len(os.sched_getaffinity(0))} cores"


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of ``process`` and all its descendants (those that still exist)."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def run(command: list[str], folder: Path, log: Path) -> dict:
    """``command`` in ``folder``: its wall time and each stage's seconds and peak RSS."""
    for stale in folder.glob("data/06_models/*/checkpoints"):
        shutil.rmtree(stale)
    quiet = {"KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    env = os.environ | quiet | {"PYTHONPATH": str(folder / "src")}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    stages: list[dict] = []
    reader = threading.Thread(target=_follow, args=(process, log, stages, started))
    reader.start()
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        if stages:
            stages[-1]["peak_rss_mb"] = max(stages[-1]["peak_rss_mb"], tree_rss(watched) >> 20)
        time.sleep(0.2)
    reader.join()
    wall = time.perf_counter() - started
    if process.returncode:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise SystemExit(f"{' '.join(command)} failed in {folder}; its output ends:\n{tail}")
    ends = [s["start"] for s in stages[1:]] + [wall]
    for stage, end in zip(stages, ends, strict=True):
        stage["seconds"] = round(end - stage.pop("start"), 1)
    return {"wall_s": round(wall, 1), "stages": stages}


def _follow(process: subprocess.Popen, log: Path, stages: list[dict], started: float) -> None:
    with log.open("w") as out:
        for line in process.stdout:
            out.write(line)
            match = STAGE.search(line)
            if match:
                now = time.perf_counter() - started
                stages.append({"stage": match[1], "start": now, "peak_rss_mb": 0})


def predictions(folder: Path) -> dict[str, pd.DataFrame]:
    """Every model's test predictions in ``folder`` (one column per task and seed)."""
    files = sorted(folder.glob("data/07_model_output/*/test_predictions.parquet"))
    return {f.parent.name: pd.read_parquet(f) for f in files}


def seed_aucs(read) -> dict[tuple[str, str], list[float]]:
    """Each model's test AUC of every seed, per task, from its metrics file; ``read(path)``
    gives a file's text (from the checkout, or ``git show`` of a commit)."""
    aucs = {}
    for model in MODELS:
        text = read(f"data/08_reporting/metrics/{model}.json")
        for run in json.loads(text)["runs"] if text else []:
            for task, scores in run.items():
                if isinstance(scores, dict) and "auc" in scores:
                    aucs.setdefault((model, task), []).append(scores["auc"])
    return aucs


def in_checkout(path: str) -> str | None:
    """A file's text in this checkout, or None."""
    file = PROJECT / path
    return file.read_text() if file.exists() else None


def at_commit(commit: str):
    """``read(path)``: a file's text at ``commit`` (None where it has none)."""

    def read(path: str) -> str | None:
        shown = subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True)
        return shown.stdout if shown.returncode == 0 else None

    return read


def seed_check(rows: list[dict], before: dict, after: dict) -> list[dict]:
    """Add to each row of ``paired_check`` the seeds' AUCs before and after: their means and
    Welch's test of the difference (the seeds train apart, so the spread between seeds is the
    noise a change of dropout draws or rounding has to stay within), Holm-corrected."""
    for row in rows:
        a, b = before[row["model"], row["task"]], after[row["model"], row["task"]]
        row |= {"seeds_before": a, "seeds_after": b, "seed_std": float(np.std(a))}
        row["welch_p"] = float(ttest_ind(b, a, equal_var=False).pvalue)
    for row, adjusted in zip(rows, holm([r["welch_p"] for r in rows]), strict=True):
        row["welch_p_holm"] = float(adjusted)
    return rows


def paired_check(before: dict, after: dict, test: pd.DataFrame) -> list[dict]:
    """Each model's seed-mean test AUC before and after, per task: DeLong's paired difference
    (after - before) on the same rows, Holm-corrected over all models and tasks."""
    rows = []
    for model in sorted(before.keys() & after.keys()):
        for task in (c.removeprefix("y__") for c in test.columns if c.startswith("y__")):
            means = (np.mean([*seed_columns(p[model], task).values()], 0) for p in (before, after))
            labels, a, b = labelled(test[f"y__{task}"].to_numpy(), *means)
            paired = vars(delong(labels, b, a))  # difference: after - before
            paired["auc_before"], paired["auc_after"] = paired.pop("auc_b"), paired.pop("auc_a")
            rows.append({"model": model, "task": task, **paired})
    for row, adjusted in zip(rows, holm([r["p"] for r in rows]), strict=True):
        row["p_holm"] = float(adjusted)
    return rows


def stage_table(sides: list[dict]) -> str:
    """Each stage's seconds and peak RSS on each side (baseline first), the ratio, and the
    whole run's wall time."""
    head = ["stage", *(f"{s['commit']}: s" for s in sides)]
    head += ["ratio"] if len(sides) == 2 else []
    head += [f"peak RSS MB, {' → '.join(s['commit'] for s in sides)}"]
    by_side = [{st["stage"]: st for st in s["stages"]} for s in sides]
    names = list(dict.fromkeys(name for stages in reversed(by_side) for name in stages))
    rows = []
    for name in [*names, "whole run"]:
        found = [stages.get(name) for stages in by_side]
        seconds = [
            s["wall_s"] if name == "whole run" else (f["seconds"] if f else None)
            for s, f in zip(sides, found, strict=True)
        ]
        cells = [name, *("-" if v is None else f"{v:.0f}" for v in seconds)]
        if len(sides) == 2:
            cells.append(f"{seconds[1] / seconds[0]:.2f}" if None not in seconds else "-")
        peaks = [f"{f['peak_rss_mb']:,}" if f else "-" for f in found]
        cells.append(" → ".join(peaks) if name != "whole run" else "")
        rows.append(cells)
    return markdown_table(head, rows) + "\n"


def check_table(rows: list[dict]) -> str:
    """The check: each model's test AUC before and after, per task, two ways."""
    head = ["model", "task", "seed-mean predictions: AUC before → after"]
    head += ["difference [95 %], DeLong Holm p", "seeds' mean AUC before → after (std before)"]
    head += ["Welch Holm p"]
    cells = [
        [
            r["model"],
            r["task"],
            f"{r['auc_before']:.5f} → {r['auc_after']:.5f}" if "auc_before" in r else "-",
            difference(r, 5, "p_holm") if "auc_before" in r else "-",
            f"{np.mean(r['seeds_before']):.5f} → {np.mean(r['seeds_after']):.5f} "
            f"({r['seed_std']:.5f})",
            f"{r['welch_p_holm']:.2g}",
        ]
        for r in rows
    ]
    return markdown_table(head, cells) + "\n"


def write(out: Path, result: dict) -> None:
    """The JSON and, beside it, the Markdown tables."""
    write_bytes(out, (json.dumps(result, indent=1) + "\n").encode())
    sides = [s for s in (result["baseline"], result) if s is not None]
    table = stage_table(sides) + "\n" + check_table(result["paired_check"])
    write_bytes(out.with_suffix(".md"), table.encode())
    print(table)


def side(command: list[str], commit: str | None, scratch: Path) -> dict:
    """One side: the current checkout (``commit`` None) or a worktree of ``commit``."""
    folder = PROJECT
    if commit is not None:
        folder = scratch / commit
        subprocess.run(["git", "worktree", "add", "--detach", folder, commit], check=True)
    try:
        label = commit or "current checkout"
        print(f"{label}: {' '.join(command)} in {folder}", flush=True)
        result = run(command, folder, scratch / f"{commit or 'current'}.log")
        print(f"{label}: {result['wall_s']:.0f} s", flush=True)
        return {"commit": commit_of(folder)} | result
    finally:
        if commit is not None:
            subprocess.run(["git", "worktree", "remove", "--force", folder], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="7e17f87", help="the commit to compare against")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--target", default="compare", help="the DVC stage to reproduce")
    parser.add_argument("--out", type=Path, required=True, help="JSON; a .md table beside it")
    parser.add_argument(
        "--seeds-before",
        metavar="COMMIT",
        help="run nothing: add the seeds' check to --out's results, against COMMIT's metrics",
    )
    args = parser.parse_args()
    if args.seeds_before:
        result = json.loads(args.out.read_text())
        before, after = seed_aucs(at_commit(args.seeds_before)), seed_aucs(in_checkout)
        rows = result["paired_check"]
        paired = {(r["model"], r["task"]) for r in rows}  # models without predictions before:
        rows += [{"model": m, "task": t} for m, t in sorted(after) if (m, t) not in paired]
        seed_check(rows, before, after)
        return write(args.out, result)
    if not os.environ.get("CENSUS_DATA_DIR"):
        parser.error("set CENSUS_DATA_DIR to the folder with the census files (the fetch reads it)")
    command = ["dvc", "repro", "--force", args.target]
    with tempfile.TemporaryDirectory(prefix="whole-run-") as scratch:
        baseline = None if args.skip_baseline else side(command, args.baseline, Path(scratch))
        before, seeds = predictions(PROJECT), seed_aucs(in_checkout)
        current = side(command, None, Path(scratch))
    test = pd.read_parquet(PROJECT / "data/05_model_input/test.parquet")
    check = paired_check(before, predictions(PROJECT), test)
    seed_check(check, seeds, seed_aucs(in_checkout))
    write(
        args.out,
        {"command": " ".join(command), "cpu": cpu(), **current, "baseline": baseline}
        | {"paired_check": check},
    )


if __name__ == "__main__":
    main()
