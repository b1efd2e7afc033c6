"""census-mtl: multi-task learning on UCI Census-Income with Kedro."""

__version__ = "0.1.0"
