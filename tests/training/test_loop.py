import itertools

import pytest
import torch

from census_mtl.config import ConfigError, Training, validate
from census_mtl.models import FeatureLayout, build_model
from census_mtl.training import loop
from census_mtl.training.checkpoints import Checkpoints
from census_mtl.training.data import TensorData
from census_mtl.training.loop import fit
from census_mtl.training.loss import MultiTaskLoss
from census_mtl.training.step import EagerStep, schedule_factor

LAYOUT = FeatureLayout.unnamed(2, (3, 4))
PARAMS = {
    "levels": [{"experts_per_task": 1, "shared_experts": 1, "expert_hidden_units": [8]}],
    "gate_hidden_units": [],
    "tower_hidden_units": [4],
    "dropout": 0.1,
}


def make_data(n: int, seed: int) -> TensorData:
    g = torch.Generator().manual_seed(seed)
    num = torch.randn(n, 2, generator=g)
    codes = torch.stack([torch.randint(0, c, (n,), generator=g) for c in LAYOUT.cardinalities], 1)
    y0 = ((num[:, 0] + (codes[:, 0] == 1).float()) > 0.5).float()
    y1 = ((num[:, 1] - (codes[:, 1] == 2).float()) > 0).float()
    return TensorData(torch.cat([num, codes.float()], 1), torch.stack([y0, y1], 1), torch.ones(n))


TRAIN, VALIDATION = make_data(600, 0), make_data(300, 1)


def run(
    tmp_path=None, seed=42, fingerprint="data-v1", params=PARAMS, **overrides
) -> tuple[torch.nn.Module, loop.FitResult]:
    settings = {"batch_size": 64, "max_epochs": 4, "device": "cpu", "num_threads": 1}
    settings["optimizer"] = {"name": "adam", "learning_rate": 0.01}
    config = validate(Training, settings | overrides, "training", {"tasks": ["a", "b"]})
    torch.manual_seed(seed)
    model = build_model("cgc", LAYOUT, ["a", "b"], params)
    checkpoints = Checkpoints(tmp_path) if tmp_path else None
    return model, fit(model, TRAIN, VALIDATION, config, seed, checkpoints, fingerprint)


def _scores(result: loop.FitResult) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in result.history]


def test_learns_and_logs_each_epoch(caplog):
    caplog.set_level("INFO", logger="census_mtl.training.loop")
    _, result = run()
    assert len(result.history) == 4
    assert result.history[-1]["val_auc_a"] > 0.75 and result.history[-1]["val_auc_b"] > 0.75
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert sum("validation a AUC" in r.message for r in caplog.records) == 4


def test_seeded_runs_are_identical():
    (_, one), (_, two) = run(), run()
    assert _scores(one) == _scores(two)
    assert all(torch.equal(one.best_state[k], two.best_state[k]) for k in one.best_state)


def test_keeps_the_best_epoch_and_stops_early():
    model, result = run(max_epochs=30, early_stopping={"metric": "a", "patience": 2})
    scores = [row["val_auc_a"] for row in result.history]
    assert result.best_epoch == 1 + scores.index(max(scores))
    assert len(result.history) == result.best_epoch + 2 or len(result.history) == 30
    assert all(torch.equal(v, result.best_state[k]) for k, v in model.state_dict().items())


def interrupted_then_resumed(tmp_path, monkeypatch, **overrides) -> loop.FitResult:
    """Kill a run inside epoch 3, then rerun it: the result of the resumed run."""
    calls = {"n": 0}
    real = loop.validation_scores

    def interrupt_in_epoch_three(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(loop, "validation_scores", interrupt_in_epoch_three)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, **overrides)
    monkeypatch.setattr(loop, "validation_scores", real)
    assert (tmp_path / "last-seed42.pt").exists()
    return run(tmp_path, **overrides)[1]


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    _, whole = run()
    resumed = interrupted_then_resumed(tmp_path, monkeypatch)
    assert _scores(resumed) == _scores(whole)
    assert all(torch.equal(whole.best_state[k], resumed.best_state[k]) for k in whole.best_state)


def test_a_finished_checkpoint_is_reused_and_a_foreign_one_ignored(tmp_path, caplog):
    _, first = run(tmp_path)
    caplog.set_level("INFO", logger="census_mtl.training.loop")
    _, again = run(tmp_path)
    assert _scores(again) == _scores(first)
    assert any("Resuming" in r.message for r in caplog.records)
    _, other = run(tmp_path, fingerprint="data-v2")
    assert any("Ignoring" in r.message for r in caplog.records)
    assert _scores(other) == _scores(first)  # trained afresh, from the same seed


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochs": 3}, r"training.epochs: unknown key"),
        ({"batch_size": 0}, "training.batch_size = 0: Input should be greater than or equal to 1"),
        ({"optimizer": {"name": "sgd"}}, "training.optimizer.name = 'sgd': Input should be"),
        ({"optimizer": {"name": "adam", "lr": 0.1}}, r"training.optimizer.lr: unknown key"),
        ({"compile": "yes"}, "training.compile = 'yes': Input should be 'auto', True or False"),
        ({"early_stopping": {"metric": "c"}}, "training.early_stopping.metric = 'c': use"),
        ({"seeds": [1, 1]}, "training.seeds = .*seeds must be distinct"),
        ({"device": "gpu"}, "training.device = 'gpu': String should match"),
    ],
)
def test_bad_training_config_is_explained(overrides, message):
    with pytest.raises(ConfigError, match=message):
        run(**overrides)


def test_compiled_training_learns_like_eager_and_keeps_plain_weights():
    _, eager = run(max_epochs=2)
    model, compiled = run(max_epochs=2, compile=True)
    assert set(compiled.best_state) == set(model.state_dict())  # no torch.compile prefixes
    for a, b in zip(eager.history, compiled.history, strict=True):  # dropout draws differ
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=0.01)
        assert b["val_mean_auc"] == pytest.approx(a["val_mean_auc"], abs=0.01)


AVERAGED = {"ema_decay": 0.9, "schedule": {"name": "cosine", "warmup_epochs": 1}}


def test_schedule_and_weight_average_resume_exactly(tmp_path, monkeypatch):
    _, whole = run(**AVERAGED)
    resumed = interrupted_then_resumed(tmp_path, monkeypatch, **AVERAGED)
    assert _scores(resumed) == _scores(whole)
    assert all(torch.equal(whole.best_state[k], resumed.best_state[k]) for k in whole.best_state)
    _, plain = run()
    assert _scores(plain) != _scores(whole)  # the options change training


def test_cosine_schedule_warms_up_then_decays_to_the_floor():
    spec = validate(
        Training,
        {"schedule": {"name": "cosine", "warmup_epochs": 1, "min_factor": 0.1}},
        "training",
    ).schedule
    factor = schedule_factor(spec, steps_per_epoch=4, epochs=3)
    rates = [factor(step) for step in range(12)]
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert rates[4] == pytest.approx(1.0) and 0.1 < rates[-1] < 0.2
    assert factor(12) == pytest.approx(0.1)  # after the last step
    assert all(a >= b for a, b in itertools.pairwise(rates[4:]))
    constant = validate(Training, {}, "training")
    assert {schedule_factor(constant.schedule, 4, 3)(step) for step in range(12)} == {1.0}
    model = torch.nn.Linear(2, 1)
    loss_fn = MultiTaskLoss(["a"], constant.loss, ["binary"])
    assert EagerStep(model, loss_fn, constant, 4).scheduler is None  # no per-step call


def test_a_damaged_checkpoint_is_skipped_with_a_warning(tmp_path, caplog):
    _, first = run(tmp_path)
    path = tmp_path / "last-seed42.pt"
    path.write_bytes(path.read_bytes()[:300])  # a kill while it was copied, say
    caplog.set_level("WARNING", logger="census_mtl.training.checkpoints")
    _, again = run(tmp_path)
    assert any(str(path) in r.message and "damaged" in r.message for r in caplog.records)
    assert _scores(again) == _scores(first)  # trained afresh, from the same seed
