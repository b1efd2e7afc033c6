"""``python -m census_mtl``: ``kedro run`` with its options, or ``check-config [--env ENV]``."""

import sys
from pathlib import Path
from typing import Any

from kedro.framework.cli.utils import find_run_command
from kedro.framework.project import configure_project


def main(*args, **kwargs) -> Any:
    package_name = Path(__file__).parent.name
    configure_project(package_name)
    argv = list(args[0]) if args else sys.argv[1:]
    if argv[:1] == ["check-config"]:
        from census_mtl.cli import cli

        return cli.main(argv, prog_name="python -m census_mtl")
    interactive = hasattr(sys, "ps1")
    kwargs["standalone_mode"] = not interactive
    run = find_run_command(package_name)
    return run(*args, **kwargs)


if __name__ == "__main__":
    main()
