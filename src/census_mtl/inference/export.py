"""Export a trained model: a network to ONNX (one input ``x``, the compact features; one output
per task: ``p_<task>``, or ``value_<task>`` for a regression task), the GBDT baseline to
LightGBM's own text model files (one per task), a blend to both and a JSON file of its GBDT
weights."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import torch

from census_mtl.atomic import atomic_path, write_bytes
from census_mtl.errors import ProjectError
from census_mtl.inference.scoring import output_names
from census_mtl.models import ModelArtifact
from census_mtl.models.prediction import outputs_of


class _Outputs(torch.nn.Module):
    """Wraps a model so that its outputs are per task, in task order: a binary task's
    probability, a regression task's value."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits = self.model(x)
        outputs = outputs_of(self.model, torch.stack([logits[t] for t in self.model.tasks], 1))
        return tuple(outputs.unbind(1))


EXTRA = ("onnx", "onnxscript")  # what torch.onnx.export needs: the project's `export` extra


def export_onnx(model: ModelArtifact, path: Path, run: int = 0) -> Path:
    """Write run ``run`` of the model as an ONNX graph with a dynamic batch size."""
    missing = [name for name in EXTRA if find_spec(name) is None]
    if missing:
        raise ProjectError(
            f"ONNX export needs {', '.join(missing)}: pip install -e '.[export]' (make install-dev "
            "installs it too)"
        )
    network = model.network(run)
    example = torch.zeros(2, model.layout.n_columns)
    with atomic_path(path) as part:
        torch.onnx.export(
            _Outputs(network).eval(),  # dropout off: the graph is the inference one
            (example,),
            str(part),
            input_names=["x"],
            output_names=output_names(model.tasks, model.types),
            dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
            dynamo=True,
            external_data=False,  # one self-contained file
        )
    return path


def export_boosters(model: ModelArtifact, path: Path, run: int = 0) -> list[Path]:
    """Write run ``run``'s LightGBM text model of each task as ``<path stem>.<task>.txt``."""
    paths = []
    for task, text in model.runs[run].boosters.items():
        target = path.with_name(f"{path.stem}.{task}.txt")
        with atomic_path(target) as part:
            part.write_text(text)
        paths.append(target)
    return paths


def export_blend(model: ModelArtifact, path: Path, run: int = 0) -> list[Path]:
    """Write run ``run`` of a blend: its network as ONNX at ``path``, its boosters beside it,
    and ``<path stem>.blend.json``: each task's GBDT weight and the files it mixes."""
    network, boosters = export_onnx(model, path, run), export_boosters(model, path, run)
    recipe = {
        "output": "gbdt_weight * booster + (1 - gbdt_weight) * network, per task",
        "network": network.name,
        "boosters": dict(zip(model.runs[run].boosters, (p.name for p in boosters), strict=True)),
        "gbdt_weight": model.runs[run].weights,
    }
    target = path.with_name(f"{path.stem}.blend.json")
    write_bytes(target, (json.dumps(recipe, indent=2) + "\n").encode())
    return [network, *boosters, target]


def export_model(model: ModelArtifact, path: Path, run: int = 0) -> list[Path]:
    """Every file that ``run`` of ``model`` exports to, written."""
    if model.is_network:
        return [export_onnx(model, path, run)]
    if model.members:
        return export_blend(model, path, run)
    return export_boosters(model, path, run)
