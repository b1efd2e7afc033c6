"""Export a trained model to ONNX: one input ``x`` (compact features), one output per task."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from census_mtl.models.artifact import from_artifact


class _Probabilities(torch.nn.Module):
    """Wraps a model so that its outputs are per-task probabilities, in task order."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits = self.model(x)
        return tuple(torch.sigmoid(logits[t]) for t in self.model.tasks)


def export_onnx(model: Mapping, path: Path, run: int = 0) -> Path:
    """Write run ``run`` of the model artifact as an ONNX graph with a dynamic batch size."""
    network = from_artifact(model, run)
    layout = model["layout"]
    example = torch.zeros(2, layout["n_numeric"] + len(layout["cardinalities"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        _Probabilities(network),
        (example,),
        str(path),
        input_names=["x"],
        output_names=[f"p_{t}" for t in network.tasks],
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
        dynamo=True,
        external_data=False,  # one self-contained file
    )
    return path
