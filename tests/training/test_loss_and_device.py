import pytest
import torch
import torch.nn.functional as F

from census_mtl.config import ConfigError, validate
from census_mtl.config.training import Loss
from census_mtl.training.device import resolve_device, set_threads
from census_mtl.training.loss import MultiTaskLoss

TASKS = ["income", "marital"]
LOGITS = {
    "income": torch.tensor([0.5, -1.0, 2.0, 0.0]),
    "marital": torch.tensor([1.0, 1.0, -2.0, 0.3]),
}
LABELS = torch.tensor([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
WEIGHTS = torch.tensor([1.0, 2.0, 3.0, 4.0])


def loss(config: dict) -> Loss:
    return validate(Loss, config, "loss", {"tasks": TASKS})


def bce(task: str, i: int, weight=None) -> torch.Tensor:
    loss = F.binary_cross_entropy_with_logits(LOGITS[task], LABELS[:, i], reduction="none")
    w = torch.ones(4) if weight is None else weight
    return (loss * w).sum() / w.sum()


def test_default_is_the_sum_of_plain_bce():
    total, parts = MultiTaskLoss(TASKS, loss({}))(LOGITS, LABELS, WEIGHTS)
    torch.testing.assert_close(parts["income"], bce("income", 0))
    torch.testing.assert_close(total, bce("income", 0) + bce("marital", 1))


def test_task_weights_and_sample_weights():
    loss_fn = MultiTaskLoss(
        TASKS, loss({"task_weights": {"income": 3.0}, "use_sample_weight": True})
    )
    total, parts = loss_fn(LOGITS, LABELS, WEIGHTS)
    torch.testing.assert_close(parts["marital"], bce("marital", 1, WEIGHTS))
    torch.testing.assert_close(total, 3 * bce("income", 0, WEIGHTS) + bce("marital", 1, WEIGHTS))


def test_task_space_counts_only_inside_the_indicator_positives():
    space = {"indicator": "marital", "in_space_weight": 1.0, "out_space_weight": 0.0}
    _, parts = MultiTaskLoss(TASKS, loss({"task_space": {"income": space}}))(
        LOGITS, LABELS, WEIGHTS
    )
    inside = LABELS[:, 1]
    torch.testing.assert_close(parts["income"], bce("income", 0, inside))
    half = {**space, "out_space_weight": 0.5}
    _, parts = MultiTaskLoss(TASKS, loss({"task_space": {"income": half}}))(LOGITS, LABELS, WEIGHTS)
    torch.testing.assert_close(parts["income"], bce("income", 0, inside * 0.5 + 0.5))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"task_weight": {}}, r"loss.task_weight: unknown key \(did you mean 'task_weights'\?\)"),
        ({"task_weights": {"incme": 1.0}}, r"task_weights keys \['incme'\] are not tasks"),
        (
            {"task_weights": {"income": -1}},
            "loss.task_weights.income = -1: Input should be greater",
        ),
        ({"task_weights": {"income": "heavy"}}, "income = 'heavy': Input should be a valid number"),
        (
            {"task_space": {"income": {"indicator": "income"}}},
            "task_space.income.indicator must be another task",
        ),
        ({"task_space": {"income": {"indicator": "x"}}}, r"indicator \['x'\] are not tasks"),
    ],
)
def test_bad_loss_config_is_explained(config, message):
    with pytest.raises(ConfigError, match=message):
        loss(config)


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="'cuda:1' is not available"):
            resolve_device("cuda:1")
    with pytest.raises(ValueError, match="unknown device 'gpu'; allowed: 'auto'"):
        resolve_device("gpu")


def test_threads_setting():
    before = torch.get_num_threads()
    set_threads(1)
    assert torch.get_num_threads() == 1
    set_threads(before)
    with pytest.raises(ValueError, match="num_threads"):
        set_threads(0)


def test_missing_labels_count_for_nothing():
    """Hand computation: each task's mean BCE over its labelled rows only."""
    labels = torch.tensor([[1.0, float("nan")], [float("nan"), 0.0], [1.0, 0.0], [0.0, 1.0]])
    total, parts = MultiTaskLoss(TASKS, loss({"use_sample_weight": True}))(LOGITS, labels, WEIGHTS)
    x, w = LOGITS["income"][[0, 2, 3]], WEIGHTS[[0, 2, 3]]
    by_hand = -(w * torch.stack([F.logsigmoid(x[0]), F.logsigmoid(x[1]), F.logsigmoid(-x[2])]))
    torch.testing.assert_close(parts["income"], by_hand.sum() / w.sum())
    x, w = LOGITS["marital"][[1, 2, 3]], WEIGHTS[[1, 2, 3]]
    by_hand = -(w * torch.stack([F.logsigmoid(-x[0]), F.logsigmoid(-x[1]), F.logsigmoid(x[2])]))
    torch.testing.assert_close(parts["marital"], by_hand.sum() / w.sum())
    assert torch.isfinite(total)


def test_a_batch_without_a_label_of_a_task_adds_nothing_for_it():
    labels = LABELS.clone()
    labels[:, 0] = float("nan")
    total, parts = MultiTaskLoss(TASKS, loss({}))(LOGITS, labels, WEIGHTS)
    assert parts["income"] == 0
    torch.testing.assert_close(total, bce("marital", 1))
