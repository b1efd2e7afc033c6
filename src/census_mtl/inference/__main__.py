"""Command line: ``python -m census_mtl.inference score|export``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from census_mtl.atomic import atomic_path
from census_mtl.config import ConfigError, validate
from census_mtl.config.project import Predict
from census_mtl.inference.export import export_boosters, export_onnx
from census_mtl.inference.scoring import ScoringError, score_chunks
from census_mtl.models.artifact import ArtifactError, load_artifact

MODEL = Path("data/06_models/ple/model.pt")
PREPROCESSOR = Path("data/04_feature/preprocessor.pkl")


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m census_mtl.inference", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score a census-format file (gz or plain)",
                                formatter_class=formatter)  # fmt: skip
    score.add_argument("input", type=Path)
    score.add_argument("--out", type=Path, required=True, help="CSV of line and p_<task>")
    score.add_argument("--model", type=Path, default=MODEL)
    score.add_argument("--preprocessor", type=Path, default=PREPROCESSOR)
    score.add_argument("--run", default="best", help="'best' or a trained seed")
    score.add_argument("--chunksize", type=int, default=100_000)
    score.add_argument("--batch-size", type=int, default=Predict().batch_size)
    score.add_argument("--on-bad-rows", choices=["skip", "fail"], default="skip")
    score.add_argument("--bad-rows", type=Path, help="CSV of bad rows (default: beside --out)")
    export = commands.add_parser("export", help="a network to ONNX, the GBDT to LightGBM text",
                                 formatter_class=formatter)  # fmt: skip
    export.add_argument("--model", type=Path, default=MODEL)
    export.add_argument("--run", default="best", help="'best' or a trained seed")
    export.add_argument("--out", type=Path, required=True)
    return parser


def _score(args: argparse.Namespace, model, settings: Predict) -> str:
    chunks = pd.read_csv(
        args.input, header=None, sep=",", skipinitialspace=True, keep_default_na=False,
        na_values=[""], chunksize=args.chunksize,
    )  # fmt: skip
    preprocessor = pd.read_pickle(args.preprocessor)
    bad_path = args.bad_rows or args.out.with_name(f"{args.out.stem}.bad_rows.csv")
    scored, bad = [], []
    for predictions, bad_rows in score_chunks(chunks, preprocessor, model, settings):
        scored.append(predictions)
        bad.append(bad_rows)
    for frame, path in ((pd.concat(scored), args.out), (pd.concat(bad), bad_path)):
        with atomic_path(path) as part:
            frame.to_csv(part, index=False)
    bad_count = pd.concat(bad)["line"].nunique()
    return f"{sum(map(len, scored))} rows scored into {args.out}; {bad_count} bad rows ({bad_path})"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run = args.run if args.run == "best" else int(args.run)
    try:
        model = load_artifact(args.model)
        if args.command == "export" and model.is_network:
            print(export_onnx(model, args.out, model.run_index(run)))
            return 0
        if args.command == "export":
            print("\n".join(map(str, export_boosters(model, args.out, model.run_index(run)))))
            return 0
        options = {"run": run, "on_bad_rows": args.on_bad_rows, "batch_size": args.batch_size}
        print(_score(args, model, validate(Predict, options, "")))
    except (ArtifactError, ConfigError, ScoringError) as exc:
        print(f"error: {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
