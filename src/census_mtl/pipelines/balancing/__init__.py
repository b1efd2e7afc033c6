"""The balancing study: ``balancing`` (this environment's census data), ``balancing_relatedness``
(the synthetic task pairs) and ``balancing_report`` (every setting run so far)."""

from census_mtl.pipelines.balancing.pipeline import (
    create_census_pipeline,
    create_relatedness_pipeline,
    create_report_pipeline,
)

__all__ = ["create_census_pipeline", "create_relatedness_pipeline", "create_report_pipeline"]
