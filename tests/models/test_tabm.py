"""TabM's BatchEnsemble: each member is the plain network with its scaled weights."""

import pytest
import torch

from census_mtl.config.training import Loss
from census_mtl.models import ModelArtifact, TrainedRun
from census_mtl.models.inputs import InputLinear
from census_mtl.models.layers import StackedLinear
from census_mtl.models.registry import model_params
from census_mtl.models.tabm import EnsembleInputLinear, EnsembleLinear
from census_mtl.training.loss import MultiTaskLoss
from tests.models.test_networks import (
    DENSE_NAMES,
    ENCODER,
    LAYOUT,
    PARAMS,
    TASKS,
    compact_batch,
    make,
)

K = 3


@torch.no_grad()
def member_weights(ensemble: torch.nn.Module, plain: torch.nn.Module, i: int) -> None:
    """Give ``plain`` member ``i``'s weights: ``diag(r_i) W diag(s_i)`` and ``b_i``."""
    pairs = list(zip(ensemble.modules(), plain.modules(), strict=True))
    for ours, theirs in pairs:
        if isinstance(ours, EnsembleInputLinear):
            assert type(theirs) is InputLinear
            theirs.weight.copy_(ours.r[i][:, None] * ours.weight * ours.s[i, 0])
            theirs.bias.copy_(ours.bias[i, 0])
        elif isinstance(ours, EnsembleLinear):
            assert type(theirs) is StackedLinear
            theirs.weight.copy_(ours.r[:, i, 0, :, None] * ours.weight * ours.s[:, i])
            theirs.bias.copy_(ours.bias[:, i])
        else:  # the rest as it is (the numeric embedding)
            own = dict(theirs.named_parameters(recurse=False))
            for name, value in ours.named_parameters(recurse=False):
                own[name].copy_(value)


@pytest.mark.parametrize("name", DENSE_NAMES)
def test_each_member_is_the_network_with_its_scaled_weights(name):
    ensemble = make(name, batch_ensemble=K, numeric_embedding={"frequencies": 2, "dim": 2})
    with torch.no_grad():
        for p in ensemble.parameters():  # scalings away from their start, to be seen
            p.add_(torch.randn_like(p) * 0.1)
    x = compact_batch(6)
    members = ensemble(x)  # training mode: every member's rows, member-major
    for i in range(K):
        plain = make(name, numeric_embedding={"frequencies": 2, "dim": 2})
        member_weights(ensemble, plain, i)
        for task in TASKS:
            torch.testing.assert_close(members[task][i * 6 : (i + 1) * 6], plain(x)[task])
    ensemble.eval()
    mean = torch.sigmoid(ensemble(x)["income"])
    torch.testing.assert_close(mean, torch.sigmoid(members["income"]).view(K, 6).mean(0))


def test_members_start_different_and_learn_from_their_own_losses():
    model = make("ple", batch_ensemble=K)
    x, y = compact_batch(16), torch.randint(0, 2, (16, 2)).float()
    out = model(x)
    assert not torch.allclose(out["income"][:16], out["income"][16:32])
    loss, _ = MultiTaskLoss(TASKS, Loss())(out, y, torch.ones(16))  # labels repeat per member
    loss.backward()
    first = model.levels[0].shared_experts.first
    assert first.r.grad.abs().sum(dim=1).min() > 0  # every member's scaling learns


def test_a_saved_ensemble_predicts_the_same():
    model = make("share_bottom", batch_ensemble=K).eval()
    run = TrainedRun(1, 1, 1, 0.1, dict.fromkeys(TASKS, 0.5), model.state_dict())
    spec = model_params("share_bottom", {**PARAMS["share_bottom"], "batch_ensemble": K})
    artifact = ModelArtifact.from_payload(
        ModelArtifact(spec, tuple(TASKS), ENCODER, LAYOUT, (run,)).to_payload()
    )
    x = compact_batch(8)
    assert torch.equal(artifact.network()(x)["income"], model(x)["income"])
