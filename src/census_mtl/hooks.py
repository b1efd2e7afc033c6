"""Kedro hooks of the project."""

from __future__ import annotations

import logging
from pathlib import Path

from kedro.framework.hooks import hook_impl

from census_mtl.data.schema import RAW_FILE_NAMES
from census_mtl.data.synthetic import write_synthetic

logger = logging.getLogger(__name__)


class SyntheticDataHook:
    """Write synthetic raw files where the environment asks for them (``synthetic_data``)."""

    @hook_impl
    def after_context_created(self, context) -> None:
        spec = context.params.get("synthetic_data")
        if not spec:
            return
        raw_dir = Path(context.project_path) / spec["raw_dir"]
        if all((raw_dir / name).exists() for name in RAW_FILE_NAMES.values()):
            return
        logger.info("Writing synthetic census files to %s", raw_dir)
        write_synthetic(raw_dir, spec["train_rows"], spec["test_rows"], spec["seed"])
