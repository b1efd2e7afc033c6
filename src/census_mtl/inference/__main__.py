"""Command line: ``python -m census_mtl.inference score|export``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from census_mtl.atomic import atomic_path
from census_mtl.config import validate
from census_mtl.config.project import Predict
from census_mtl.errors import ProjectError
from census_mtl.inference.export import export_model
from census_mtl.inference.reading import MAX_LINE_CHARS, read_lines
from census_mtl.inference.scoring import score_file
from census_mtl.models.artifact import load_artifact, resolve_model_file

MODELS = Path("data/06_models")
MODEL_HELP = "model name (ple, mmoe, …) or path inside --models-dir, or an absolute path"


def _run(value: str) -> str | int:
    if value == "best" or value.isdigit():
        return value if value == "best" else int(value)
    raise argparse.ArgumentTypeError(f"{value!r}: 'best' or a trained seed (a whole number)")


def _positive(value: str) -> int:
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise argparse.ArgumentTypeError(f"{value!r}: a whole number of at least 1")


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument("--model", default="ple", help=MODEL_HELP)
    command.add_argument("--models-dir", type=Path, default=MODELS, help="the model folder")
    command.add_argument("--run", type=_run, default="best", help="'best' or a trained seed")


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m census_mtl.inference", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser(
        "score", help="score a census-format file (gz or plain)", formatter_class=formatter
    )
    score.add_argument("input", type=Path, help="42 fields per line, or 41 without the label")
    score.add_argument("--out", type=Path, required=True, help="CSV of line and p_<task>")
    _common(score)
    score.add_argument("--chunksize", type=_positive, default=100_000, help="lines read at a time")
    score.add_argument(
        "--max-line-chars",
        type=_positive,
        default=MAX_LINE_CHARS,
        help="longer lines are reported and skipped, never held in memory",
    )
    score.add_argument(
        "--batch-size", type=int, default=Predict().batch_size, help="rows per forward pass"
    )
    score.add_argument(
        "--on-bad-rows",
        choices=["skip", "fail"],
        default="skip",
        help="skip (and report) bad rows, or fail",
    )
    score.add_argument("--bad-rows", type=Path, help="CSV of bad rows (default: beside --out)")
    export = commands.add_parser(
        "export", help="a network to ONNX, the GBDT to LightGBM text", formatter_class=formatter
    )
    _common(export)
    export.add_argument("--out", type=Path, required=True, help="the .onnx file (GBDT: .txt)")
    return parser


def _check_paths(args: argparse.Namespace) -> None:
    """Refuse an input that is not a file and an output that is a folder, before any work."""
    if not args.input.is_file():
        problem = "is a folder" if args.input.is_dir() else "does not exist"
        raise ProjectError(f"{args.input} {problem}: give a census-format file to score")
    for path in (args.out, args.bad_rows):
        if path is not None and path.is_dir():
            raise ProjectError(f"{path} is a folder: give the path of a CSV file to write")


def _score(args: argparse.Namespace, model, settings: Predict) -> str:
    chunks = read_lines(args.input, args.chunksize, args.max_line_chars)
    bad_path = args.bad_rows or args.out.with_name(f"{args.out.stem}.bad_rows.csv")
    scored, bad_rows = score_file(chunks, model, settings)
    for frame, path in ((scored, args.out), (bad_rows, bad_path)):
        with atomic_path(path) as part:  # all or nothing: a failure leaves no partial file
            frame.to_csv(part, index=False)
    count, seed = bad_rows["line"].nunique(), model.runs[model.run_index(settings.run)].seed
    return (
        f"{len(scored)} rows scored with {args.model} (seed {seed}) into {args.out}; "
        f"{count} bad rows ({bad_path})"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run = args.run
    try:
        if args.command == "score":
            _check_paths(args)
        elif args.out.is_dir():
            raise ProjectError(f"{args.out} is a folder: give the path of the file to write")
        model = load_artifact(resolve_model_file(args.model, args.models_dir))
        if args.command == "export":
            print("\n".join(map(str, export_model(model, args.out, model.run_index(run)))))
            return 0
        options = {"run": run, "on_bad_rows": args.on_bad_rows, "batch_size": args.batch_size}
        print(_score(args, model, validate(Predict, options, "")))
    except ProjectError as exc:
        print(f"Error: {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
