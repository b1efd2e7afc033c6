"""Command line: ``python -m census_mtl.data fetch|synth``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from census_mtl.data.fetch import ENV_DIR, UCI_URL, FetchError, fetch
from census_mtl.data.synthetic import write_synthetic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m census_mtl.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("fetch", help="fill the raw folder with the verified UCI files")
    get.add_argument("--raw-dir", type=Path, default=Path("data/01_raw"))
    get.add_argument(
        "--from", dest="source", type=Path, help=f"local folder with the files (or ${ENV_DIR})"
    )
    get.add_argument("--url", default=UCI_URL, help="base address of the UCI archive")
    synth = commands.add_parser("synth", help="write synthetic files in the UCI format")
    synth.add_argument("--raw-dir", type=Path, default=Path("data/sample/01_raw"))
    synth.add_argument("--train-rows", type=int, default=4000)
    synth.add_argument("--test-rows", type=int, default=2000)
    synth.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "synth":
        paths = write_synthetic(args.raw_dir, args.train_rows, args.test_rows, args.seed)
    else:
        try:
            paths = fetch(args.raw_dir, args.source, args.url)
        except FetchError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1
    print("\n".join(map(str, paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
