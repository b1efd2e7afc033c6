"""``training_defaults.fast_ops``: off, every operation is the plain-PyTorch reference; on, the
kernels train the same network to the same scores, up to rounding."""

import math

import pytest
import torch
from torch import nn

from census_mtl import ops
from census_mtl.config import Training
from census_mtl.models import build_model
from census_mtl.ops.dropout import Dropout
from census_mtl.ops.field_sum import training_field_sum
from census_mtl.ops.fused_step import FusedStep
from census_mtl.training.loss import MultiTaskLoss
from census_mtl.training.step import EagerStep, compiles, make_step

from ..training.test_loop import LAYOUT, PARAMS, _scores, run
from .test_field_sum import codes_and_table


def test_the_switch_holds_for_its_block_only():
    assert ops.fast()
    with ops.switched(False):
        assert not ops.fast()
        with ops.switched(True):
            assert ops.fast()
        assert not ops.fast()
    with pytest.raises(KeyError), ops.switched(False):
        raise KeyError
    assert ops.fast()


def test_off_the_category_sum_is_embedding_bag():
    codes, table = codes_and_table(1024)
    with ops.switched(False):
        output = training_field_sum(codes, table)
    assert "EmbeddingBag" in type(output.grad_fn).__name__
    assert "_BagSum" in type(training_field_sum(codes, table).grad_fn).__name__


def test_off_dropout_is_nn_dropout_draw_for_draw():
    x = torch.randn(64, 48)
    torch.manual_seed(5)
    expected = nn.Dropout(0.3)(x)
    torch.manual_seed(5)
    with ops.switched(False):
        assert torch.equal(Dropout(0.3)(x), expected)
    torch.manual_seed(5)
    assert not torch.equal(Dropout(0.3)(x), expected)  # on: the cheaper mask


@pytest.mark.parametrize(("fast", "expected"), [(True, FusedStep), (False, EagerStep)])
def test_compile_takes_the_fused_step_only_with_the_kernels_on(fast, expected):
    settings = Training.model_validate({"compile": True})
    model = build_model("ple", LAYOUT, ["a", "b"], PARAMS)
    loss_fn = MultiTaskLoss(["a", "b"], settings.loss, ["binary", "binary"])
    with ops.switched(fast):
        step = make_step(model, loss_fn, settings, rows=600)
    assert type(step) is expected
    step.close()


@pytest.mark.parametrize(
    ("settings", "rows", "compiler", "expected"),
    [
        ({}, 600, True, False),  # 1 step an epoch, 30 epochs: a compile would not pay
        ({}, 1024 * 40, True, True),
        ({"max_epochs": 20}, 1024 * 40, True, False),  # 800 planned steps
        ({}, 1024 * 40, False, False),
        ({"balancing": {"method": "uncertainty"}}, 1024 * 40, True, False),
        ({"compile": True}, 600, False, True),
        ({"compile": False}, 1024 * 40, True, False),
    ],
)
def test_compile_auto_compiles_where_it_pays(settings, rows, compiler, expected, monkeypatch):
    monkeypatch.setattr("census_mtl.training.step.has_compiler", lambda: compiler)
    settings = Training.model_validate({"batch_size": 1024, **settings})
    model = build_model("ple", LAYOUT, ["a", "b"], PARAMS)
    assert compiles(model, settings, math.ceil(rows / 1024)) is expected


def test_compile_auto_keeps_the_reference_step_with_the_kernels_off(monkeypatch):
    monkeypatch.setattr("census_mtl.training.step.has_compiler", lambda: True)
    model = build_model("ple", LAYOUT, ["a", "b"], PARAMS)
    with ops.switched(False):
        assert not compiles(model, Training(), steps=100)
    assert compiles(model, Training(), steps=100)


def test_kernels_and_reference_train_to_the_same_scores():
    """Without dropout the two differ only in the order the category gradient is summed."""
    settings = {"batch_size": 256, "max_epochs": 3}
    params = PARAMS | {"dropout": 0.0}
    _, fast = run(params=params, **settings)
    _, reference = run(params=params, fast_ops=False, **settings)
    for ours, theirs in zip(_scores(fast), _scores(reference), strict=True):
        assert ours == pytest.approx(theirs, abs=2e-3)
