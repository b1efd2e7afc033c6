"""The fused, compiled training step against the plain eager model and optimiser."""

import copy

import pytest
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from census_mtl.config import ConfigError, Training
from census_mtl.models import FeatureLayout, build_model
from census_mtl.ops import field_sum
from census_mtl.ops import fused_step as fused_module
from census_mtl.ops.fused_step import FusedStep
from census_mtl.training import device as device_module
from census_mtl.training.data import TensorData
from census_mtl.training.loss import MultiTaskLoss

from ..training.test_loop import _scores, interrupted_then_resumed, run

LAYOUT = FeatureLayout.unnamed(3, (5, 7, 4))
TASKS = ["a", "b"]
PLE = {  # two levels, periodic number embeddings, no dropout: a deterministic forward pass
    "levels": [
        {"experts_per_task": 2, "shared_experts": 1, "expert_hidden_units": [12]},
        {"experts_per_task": 1, "shared_experts": 2, "expert_hidden_units": [8]},
    ],
    "gate_hidden_units": [],
    "tower_hidden_units": [6],
    "numeric_embedding": {"frequencies": 4, "dim": 3, "sigma": 1.0},
}


def data(n: int) -> TensorData:
    g = torch.Generator().manual_seed(n)
    num = torch.randn(n, 3, generator=g)
    codes = torch.stack([torch.randint(0, c, (n,), generator=g) for c in LAYOUT.cardinalities], 1)
    y = torch.stack([(num[:, 0] > 0).float(), (codes[:, 1] > 3).float()], 1)
    return TensorData(torch.cat([num, codes.float()], 1), y, torch.rand(n, generator=g) + 0.5)


def model_and_loss(width: int = 12, **loss) -> tuple[torch.nn.Module, MultiTaskLoss]:
    """The PLE above; ``width``: its first level's expert width."""
    torch.manual_seed(0)
    levels = [{**PLE["levels"][0], "expert_hidden_units": [width]}, PLE["levels"][1]]
    model = build_model("ple", LAYOUT, TASKS, PLE | {"levels": levels})
    settings = Training.model_validate({"loss": loss})
    return model, MultiTaskLoss(TASKS, settings.loss, ["binary", "binary"])


@pytest.mark.parametrize(  # the category sum's gradient: the scatter kernel, embedding_bag's
    ("rows", "width", "kernel"), [(32, 12, True), (256, 12, True), (256, 40, False)]
)
def test_compiled_gradient_matches_autograd(rows, width, kernel, monkeypatch):
    if not kernel:
        monkeypatch.setattr(field_sum, "has_scatter_kernel", lambda: False)
    model, loss_fn = model_and_loss(width, use_sample_weight=True)
    eager = copy.deepcopy(model)
    batch = data(rows)
    total, _ = loss_fn(eager(batch.x), batch.y, batch.w)
    total.backward()
    expected = torch.cat([p.grad.reshape(-1) for p in eager.parameters()])

    step = FusedStep(model, loss_fn, Training().optimizer, None, rows, None, compile_step=False)
    grad, losses = torch.compile(step.loss_and_grad, fullgraph=True)(
        step.flat, batch.x, batch.y, batch.w
    )
    torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-6)
    assert losses[0].item() == pytest.approx(total.item(), rel=1e-6)
    with torch.no_grad():  # the model's parameters are views of the flat weights
        outputs = model(batch.x)
        for task, logits in eager(batch.x).items():
            torch.testing.assert_close(outputs[task], logits, rtol=0, atol=0)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_compiled_steps_match_torch_adam_and_the_weight_average(optimizer, device):
    spec = {"name": optimizer, "learning_rate": 0.01, "weight_decay": 0.01}
    settings = Training.model_validate({"optimizer": spec})
    model, loss_fn = model_and_loss()
    model.to(device)
    eager = copy.deepcopy(model)
    average = AveragedModel(eager, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    adam = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[optimizer]
    adam = adam(eager.parameters(), lr=0.01, weight_decay=0.01)
    batch, rows = data(160).to(torch.device(device)), 32
    for start in range(0, 160, rows):
        x, y, w = (t[start : start + rows] for t in (batch.x, batch.y, batch.w))
        adam.zero_grad()
        loss_fn(eager(x), y, w)[0].backward()
        adam.step()
        average.update_parameters(eager)

    step = FusedStep(model, loss_fn, settings.optimizer, 0.9, rows, lambda _: 0.01)
    losses = step.epoch(batch, torch.arange(160, device=device))
    assert step.taken == 5 and losses[0] > 0
    assert (step.graph is not None) == (device == "cuda")  # steps 3 to 5 replay a CUDA graph
    for ours, theirs in ((model, eager), (step.ema_model, average.module)):
        for (name, a), b in zip(ours.named_parameters(), theirs.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
    step.close()
    assert all(p.data.data_ptr() != step.flat.data_ptr() for p in model.parameters())


def test_a_later_seed_reuses_the_compiled_step_on_its_own_weights(monkeypatch):
    monkeypatch.setattr(fused_module, "_COMPILED", [])
    settings = Training.model_validate({"optimizer": {"name": "adam", "learning_rate": 0.01}})
    batch, rows = data(96), 32
    compiled = []
    for seed in (1, 2):  # two seeds: the same network, other weights
        model, loss_fn = model_and_loss()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(seed)))
        eager = copy.deepcopy(model)
        adam = torch.optim.Adam(eager.parameters(), lr=0.01)
        for start in range(0, 96, rows):
            adam.zero_grad()
            index = slice(start, start + rows)
            loss_fn(eager(batch.x[index]), batch.y[index], batch.w[index])[0].backward()
            adam.step()
        step = FusedStep(model, loss_fn, settings.optimizer, None, rows, lambda _: 0.01)
        step.epoch(batch, torch.arange(96))
        compiled.append(step.compiled)
        for (name, a), b in zip(model.named_parameters(), eager.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=f"seed {seed}: {name}")
    assert compiled[0] is compiled[1] and len(fused_module._COMPILED) == 1


def decaying_rate(step: int) -> float:
    return 0.01 / (1 + step)


@CUDA
def test_cuda_graph_replays_the_compiled_step_exactly(monkeypatch):
    batch, order = data(320).to(torch.device("cuda")), torch.arange(320, device="cuda")
    weights = []
    for graph_after in (2, 10**9):  # replayed from the third step on; never
        monkeypatch.setattr(fused_module, "GRAPH_AFTER", graph_after)
        model, loss_fn = model_and_loss()
        step = FusedStep(model.cuda(), loss_fn, Training().optimizer, 0.9, 32, decaying_rate)
        losses = [step.epoch(batch, order) for _ in range(2)]
        weights.append((step.flat.clone(), step.ema_flat.clone(), losses))
    # not bitwise: inductor's CUDA kernels sum the embedding gradient with atomic adds
    for replayed, called in zip(weights[0], weights[1], strict=True):
        torch.testing.assert_close(replayed, called, rtol=1e-5, atol=1e-6)


def test_compiled_training_resumes_exactly(tmp_path, monkeypatch):
    settings = {"compile": True, "ema_decay": 0.9, "schedule": {"name": "cosine"}}
    model, whole = run(**settings)
    resumed = interrupted_then_resumed(tmp_path, monkeypatch, **settings)
    assert _scores(resumed) == _scores(whole)
    assert all(torch.equal(whole.best_state[k], resumed.best_state[k]) for k in whole.best_state)
    assert whole.history[-1]["val_mean_auc"] > 0.75  # it learns
    model.state_dict()  # plain parameters again: nothing shares the flat weights
    assert len({p.data_ptr() for p in model.parameters()}) == len(list(model.parameters()))


def test_compile_without_a_compiler_is_explained(monkeypatch):
    monkeypatch.setattr(device_module.shutil, "which", lambda _: None)
    with pytest.raises(ConfigError, match="needs a C\\+\\+ compiler"):
        run(compile=True)
