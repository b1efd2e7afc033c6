"""Kedro hooks of the project: check the parameters first, write synthetic data if asked, and
put the run's provenance (``run_info``) in the catalog."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from kedro.framework.hooks import hook_impl

from census_mtl.atomic import remove_stale_parts
from census_mtl.config import ConfigError, validate_params
from census_mtl.config.network import MODELS
from census_mtl.data.fetch import checksum_path
from census_mtl.data.schema import RAW_FILE_NAMES
from census_mtl.data.synthetic import write_synthetic
from census_mtl.provenance import run_info
from census_mtl.training.device import DeviceError, resolve_device

logger = logging.getLogger(__name__)


class InvalidParameters(click.ClickException, ConfigError):
    """A ``ConfigError`` that the Kedro command line prints as one message, exit code 2."""

    exit_code = 2


def check_devices(params) -> None:
    """Every training device the run may use exists here: before the data loads, not after."""
    devices = {"training_defaults.device": params.training_defaults.device}
    for name in MODELS:
        if "device" in getattr(params, name).training:
            devices[f"{name}.training.device"] = getattr(params, name).training["device"]
    for key, device in devices.items():
        try:
            resolve_device(device)
        except DeviceError as exc:
            raise DeviceError(f"{key}: {exc}") from None


class ProjectHooks:
    """Validate every parameter before any work, then write synthetic raw files if asked."""

    def __init__(self) -> None:
        self._run_info: dict[str, str] = {}

    @hook_impl
    def after_context_created(self, context) -> None:
        try:
            params = validate_params(context.params)
            check_devices(params)
        except (ConfigError, DeviceError) as exc:
            raise InvalidParameters(str(exc)) from None
        project = Path(context.project_path)
        for stale in remove_stale_parts(project / "data"):
            logger.info("Removed %s, left by a writer that was stopped.", stale)
        self._run_info = run_info(project, context.env or "local", params.synthetic_data)
        spec = params.synthetic_data
        if spec is None:
            return
        raw_dir = project / spec.raw_dir
        files = [raw_dir / name for name in RAW_FILE_NAMES.values()]
        if all(f.exists() and checksum_path(f).exists() for f in files):
            return
        logger.info("Writing synthetic census files to %s", raw_dir)
        write_synthetic(raw_dir, spec.train_rows, spec.test_rows, spec.seed)

    @hook_impl
    def after_catalog_created(self, catalog) -> None:
        """``run_info``: date, commit, environment and data, for the report's header."""
        catalog["run_info"] = self._run_info
