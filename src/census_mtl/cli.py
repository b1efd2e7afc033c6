"""Project commands for the Kedro CLI: ``kedro run`` and ``kedro check-config``.

``run`` is Kedro's own, with every option, except that an expected error (a bad raw file, a
file that cannot be fetched, a bad model file, …) ends in one message and exit code 1
instead of a traceback. ``python -m census_mtl`` runs the same commands.
"""

from __future__ import annotations

from pathlib import Path

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import _split_params
from kedro.framework.project import settings
from kedro.framework.startup import bootstrap_project

from census_mtl.config import ConfigError, validate_params
from census_mtl.errors import ProjectError


def load_parameters(project: Path, env: str | None, params: dict) -> dict:
    """The parameters a ``kedro run --env ENV --params ...`` would see, without running hooks."""
    bootstrap_project(project)
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(project / settings.CONF_SOURCE),
        env=env,
        runtime_params=params,
        **settings.CONFIG_LOADER_ARGS,
    )
    return loader["parameters"]


@click.group(name="census-mtl")
def cli() -> None:
    """Commands of the census-mtl project."""


@cli.command("check-config")
@click.option("--env", "-e", default=None, help="Kedro environment (default: local)")
@click.option("--params", default="", callback=_split_params, help="overrides, as for kedro run")
def check_config(env: str | None, params: dict) -> None:
    """Validate every parameter of an environment without running anything."""
    try:
        validate_params(load_parameters(Path.cwd(), env, params))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Parameters of environment {env or 'local'!r} are valid.")


def expected_cause(error: BaseException | None) -> ProjectError | None:
    """The project error behind ``error`` (Kedro wraps a dataset's errors), if any."""
    while error is not None and not isinstance(error, ProjectError):
        error = error.__cause__ or error.__context__
    return error


@cli.command("run", params=kedro_run.params, help=kedro_run.help)
@click.pass_context
def run(ctx: click.Context, **options) -> None:
    try:
        ctx.invoke(kedro_run, **options)
    except click.ClickException:
        raise
    except Exception as error:
        cause = expected_cause(error)
        if cause is None:
            raise
        raise click.ClickException(str(cause)) from None
