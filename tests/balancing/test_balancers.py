"""Each balancer against a hand computation on two toy losses, and TorchJD's aggregation
leaving each task-specific parameter with its own task's gradient."""

import math

import pytest
import torch
from torch import nn
from torchjd.aggregation import UPGrad

from census_mtl.balancing import make_balancer, shared_parameters
from census_mtl.config import validate
from census_mtl.config.training import Balancing
from census_mtl.models import build_model

TASKS = ["a", "b"]


class Toy(nn.Module):
    """A shared layer and one head per task."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.shared = nn.Linear(3, 4)
        self.head_a, self.head_b = nn.Linear(4, 1), nn.Linear(4, 1)

    def losses(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = torch.tanh(self.shared(x))
        return [self.head_a(h).pow(2).mean(), (self.head_b(h) - 1).pow(2).mean()]


X = torch.randn(16, 3, generator=torch.Generator().manual_seed(1))
BOTH = torch.tensor([True, True])


def balancer(method: str, **options):
    return make_balancer(validate(Balancing, {"method": method, **options}, "balancing"), TASKS)


def grads(model: nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters()]


def reference(model: Toy, weights: list[float]) -> list[torch.Tensor]:
    """Gradients of ``sum_t weights[t] * L_t``, by plain autograd."""
    model.zero_grad()
    (torch.tensor(weights, dtype=torch.float32) @ torch.stack(model.losses(X))).backward()
    return grads(model)


def test_equal_is_the_sum():
    model = Toy()
    balancer("equal").backward(model, model.losses(X), 0.0, BOTH)
    ours = grads(model)
    assert all(torch.equal(a, b) for a, b in zip(ours, reference(model, [1, 1]), strict=True))


def test_uncertainty_weighs_by_the_learned_variances():
    model, uncertainty = Toy(), balancer("uncertainty")
    with torch.no_grad():
        uncertainty.log_variance.copy_(torch.tensor([0.5, -0.2]))
    losses = model.losses(X)
    uncertainty.backward(model, losses, 0.0, BOTH)
    ours = grads(model)
    weights = [0.5 * math.exp(-0.5), 0.5 * math.exp(0.2)]  # 1 / (2 sigma^2)
    for a, b in zip(ours, reference(model, weights), strict=True):
        torch.testing.assert_close(a, b)
    expected = [-w * loss.item() + 0.5 for w, loss in zip(weights, losses, strict=True)]
    torch.testing.assert_close(uncertainty.log_variance.grad, torch.tensor(expected))
    assert uncertainty.trainable() == [uncertainty.log_variance]


def test_uncertainty_leaves_out_a_task_without_labels():
    model, uncertainty = Toy(), balancer("uncertainty")
    uncertainty.backward(model, model.losses(X), 0.0, torch.tensor([True, False]))
    assert uncertainty.log_variance.grad[1] == 0 and model.head_b.weight.grad.abs().sum() == 0


def test_dwa_follows_the_loss_ratios_of_the_two_epochs_before():
    dwa = balancer("dwa", dwa_temperature=2.0)
    assert dwa.weights(BOTH).tolist() == [1.0, 1.0]
    dwa.end_epoch([1.0, 1.0])
    assert dwa.weights(BOTH).tolist() == [1.0, 1.0]  # one epoch of history is not enough
    dwa.end_epoch([0.5, 0.9])
    e = [math.exp(0.5 / 2), math.exp(0.9 / 2)]
    expected = [2 * v / sum(e) for v in e]
    torch.testing.assert_close(dwa.weights(BOTH), torch.tensor(expected))


def test_gradnorm_moves_weight_to_the_task_that_trains_slower():
    model, gradnorm = Toy(), balancer("gradnorm", gradnorm_alpha=1.5, weight_learning_rate=0.1)
    losses = model.losses(X)
    gradnorm.backward(model, losses, 0.0, BOTH)  # the first step sets L_t(0): r_t = 1
    shared, _ = shared_parameters(model, model.losses(X))
    norms = [
        torch.sqrt(
            sum(g.pow(2).sum() for g in torch.autograd.grad(loss, shared, retain_graph=True))
        )
        for loss in model.losses(X)
    ]
    mean = sum(norms) / 2  # G_t = 1 * ||grad L_t||; the target is their mean
    # Adam's first step moves each weight by the learning rate against its gradient's sign,
    # then the weights are scaled to sum to 2
    moved = [1 - 0.1 * float(torch.sign(n - mean)) for n in norms]
    expected = [2 * m / sum(moved) for m in moved]
    torch.testing.assert_close(gradnorm.task_weight.detach(), torch.tensor(expected))
    assert gradnorm.trainable() == []


def test_aggregation_gives_task_parameters_their_own_gradient_and_shared_the_aggregate():
    model = Toy()
    losses = model.losses(X)
    balancer("upgrad").backward(model, losses, 0.0, BOTH)
    ours = {n: p.grad.clone() for n, p in model.named_parameters()}
    for task, head in (("a", model.head_a), ("b", model.head_b)):
        model.zero_grad()
        model.losses(X)[TASKS.index(task)].backward()
        for name, p in head.named_parameters():
            assert torch.equal(ours[f"head_{task}.{name}"], p.grad), (task, name)
    shared = list(model.shared.parameters())
    rows = [
        torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, shared, retain_graph=True)])
        for loss in model.losses(X)
    ]
    expected = UPGrad()(torch.stack(rows))
    got = torch.cat([ours["shared.weight"].reshape(-1), ours["shared.bias"]])
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["mgda", "pcgrad", "cagrad", "nash_mtl", "aligned_mtl"])
def test_every_aggregator_updates_the_shared_layer(method):
    model = Toy()
    aggregation = balancer(method)
    aggregation.backward(model, model.losses(X), 0.0, BOTH)
    assert model.shared.weight.grad.abs().sum() > 0
    assert aggregation.end_epoch([0.1, 0.2]).keys() == {"a", "b"}


def test_one_labelled_task_is_its_gradient_alone():
    model = Toy()
    balancer("mgda").backward(model, model.losses(X), 0.0, torch.tensor([True, False]))
    ours = model.shared.weight.grad.clone()
    model.zero_grad()
    sum(model.losses(X)).backward()  # task b's loss is there but its rows were unlabelled
    torch.testing.assert_close(ours, model.shared.weight.grad)


def test_shared_parameters_are_those_two_tasks_reach():
    model = Toy()
    shared, own = shared_parameters(model, model.losses(X))
    assert shared == list(model.shared.parameters())
    assert own == [*model.head_a.parameters(), *model.head_b.parameters()]


def test_stacked_towers_are_task_specific_and_single_task_shares_nothing():
    """A stacked tensor holds every task's tower: each task reaches its own slice only."""
    x = torch.randn(32, 8, generator=torch.Generator().manual_seed(2))
    params = {"bottom_hidden_units": [16], "tower_hidden_units": [8]}
    network = build_model("share_bottom", 8, TASKS, params, ("regression",) * 2)
    out = network(x)
    shared, own = shared_parameters(network, [out["a"].pow(2).mean(), out["b"].pow(2).mean()])
    names = {id(p): n for n, p in network.named_parameters()}
    assert {names[id(p)].split(".")[0] for p in shared} == {"bottom"}
    assert {names[id(p)].split(".")[0] for p in own} == {"towers"}
    single = build_model("single_task", 8, TASKS, {"hidden_units": [16]}, ("regression",) * 2)
    out = single(x)
    assert shared_parameters(single, [out["a"].pow(2).mean(), out["b"].pow(2).mean()])[0] == []
