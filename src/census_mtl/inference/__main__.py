"""Command line: ``python -m census_mtl.inference score|export``."""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import pandas as pd

from census_mtl.inference.export import export_onnx
from census_mtl.inference.scoring import ON_BAD_ROWS, ScoringError, pick_run, score_chunks

MODELS = Path("data/06_models")


def _load(path: Path):
    with open(path, "rb") as f:
        return pickle.load(f)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m census_mtl.inference", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score a census-format file (gz or plain)")
    score.add_argument("input", type=Path)
    score.add_argument("--out", type=Path, required=True, help="CSV of line and p_<task>")
    score.add_argument("--model", type=Path, default=MODELS / "ple" / "model.pkl")
    score.add_argument(
        "--preprocessor", type=Path, default=Path("data/04_feature/preprocessor.pkl")
    )
    score.add_argument("--run", default="best", help="'best' or a trained seed")
    score.add_argument("--chunksize", type=int, default=100_000)
    score.add_argument("--batch-size", type=int, default=8192)
    score.add_argument("--on-bad-rows", choices=ON_BAD_ROWS, default="skip")
    score.add_argument(
        "--bad-rows", type=Path, help="CSV report of bad rows (default: beside --out)"
    )
    export = commands.add_parser("export", help="export a trained model to ONNX")
    export.add_argument("--model", type=Path, default=MODELS / "ple" / "model.pkl")
    export.add_argument("--run", default="best", help="'best' or a trained seed")
    export.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    model = _load(args.model)
    run = args.run if args.run == "best" else int(args.run)
    if args.command == "export":
        print(export_onnx(model, args.out, pick_run(model, run)))
        return 0
    chunks = pd.read_csv(
        args.input, header=None, sep=",", skipinitialspace=True, keep_default_na=False,
        na_values=[""], chunksize=args.chunksize,
    )  # fmt: skip
    settings = {"run": run, "on_bad_rows": args.on_bad_rows, "batch_size": args.batch_size}
    bad_path = args.bad_rows or args.out.with_name(f"{args.out.stem}.bad_rows.csv")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scored = bad_count = 0
    try:
        for i, (predictions, bad) in enumerate(
            score_chunks(chunks, _load(args.preprocessor), model, settings)
        ):
            predictions.to_csv(args.out, mode="w" if i == 0 else "a", header=i == 0, index=False)
            bad.to_csv(bad_path, mode="w" if i == 0 else "a", header=i == 0, index=False)
            scored, bad_count = scored + len(predictions), bad_count + bad["line"].nunique()
    except ScoringError as exc:
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return 1
    print(f"{scored} rows scored into {args.out}; {bad_count} bad rows skipped ({bad_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
