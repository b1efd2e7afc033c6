"""Kedro hooks of the project: check the parameters first, then write synthetic data."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from kedro.framework.hooks import hook_impl

from census_mtl.config import ConfigError, validate_params
from census_mtl.data.fetch import checksum_path
from census_mtl.data.schema import RAW_FILE_NAMES
from census_mtl.data.synthetic import write_synthetic

logger = logging.getLogger(__name__)


class InvalidParameters(click.ClickException, ConfigError):
    """A ``ConfigError`` that the Kedro command line prints as one message, exit code 2."""

    exit_code = 2


class ProjectHooks:
    """Validate every parameter before any work, then write synthetic raw files if asked."""

    @hook_impl
    def after_context_created(self, context) -> None:
        try:
            params = validate_params(context.params)
        except ConfigError as exc:
            raise InvalidParameters(str(exc)) from None
        spec = params.synthetic_data
        if spec is None:
            return
        raw_dir = Path(context.project_path) / spec.raw_dir
        files = [raw_dir / name for name in RAW_FILE_NAMES.values()]
        if all(f.exists() and checksum_path(f).exists() for f in files):
            return
        logger.info("Writing synthetic census files to %s", raw_dir)
        write_synthetic(raw_dir, spec.train_rows, spec.test_rows, spec.seed)
