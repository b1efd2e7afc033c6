"""Project settings: the config loader and the hooks."""

from census_mtl.hooks import ProjectHooks

HOOKS = (ProjectHooks(),)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Deep-merge parameters: an environment (or --params) overrides single keys, not whole blocks.
    "merge_strategy": {"parameters": "soft"},
}
