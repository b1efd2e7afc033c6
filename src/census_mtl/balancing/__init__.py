"""Task balancing: how a training step turns the tasks' losses into one update
(``training_defaults.balancing``). One file per method, each opening with its paper:
``base`` (``equal``), ``uncertainty``, ``gradnorm``, ``dwa`` and ``aggregation`` (TorchJD's
aggregators on the shared parameters)."""

from __future__ import annotations

from census_mtl.balancing.aggregation import AGGREGATORS, Aggregation
from census_mtl.balancing.base import Balancer, shared_parameters
from census_mtl.balancing.dwa import DWA
from census_mtl.balancing.gradnorm import GradNorm
from census_mtl.balancing.uncertainty import Uncertainty
from census_mtl.config.training import Balancing

__all__ = ["Balancer", "make_balancer", "shared_parameters"]


def make_balancer(spec: Balancing, tasks: list[str]) -> Balancer:
    """The balancer ``spec.method`` names, for ``tasks``."""
    if spec.method in AGGREGATORS:
        return Aggregation(tasks, spec)
    return {
        "equal": lambda: Balancer(tasks),
        "uncertainty": lambda: Uncertainty(tasks),
        "gradnorm": lambda: GradNorm(tasks, spec.gradnorm_alpha, spec.weight_learning_rate),
        "dwa": lambda: DWA(tasks, spec.dwa_temperature),
    }[spec.method]()
