"""Piecewise-linear embeddings: the library's equations, bins from the training rows, saved."""

import pytest
import torch
from rtdl_num_embeddings import PiecewiseLinearEmbeddings, compute_bins

from census_mtl.config import ConfigError, merge_settings, validate
from census_mtl.config.network import PLEParams
from census_mtl.models import ModelArtifact, TrainedRun
from census_mtl.models.numeric import PiecewiseLinearNumbers, numeric_bins
from census_mtl.models.registry import fit_to_training_rows, model_params
from census_mtl.tuning.space import FirstDraw, sample
from tests.models.test_networks import (
    ENCODER,
    LAYOUT,
    NETWORK_NAMES,
    PARAMS,
    TASKS,
    compact_batch,
    make,
)

QUANTILE = {"kind": "piecewise_linear", "n_bins": 4, "dim": 3}


def test_the_embedding_is_rtdl_num_embeddings_version_b():
    g = torch.Generator().manual_seed(0)
    train = torch.cat(
        [torch.randn(500, 2, generator=g), torch.randint(0, 3, (500, 1), generator=g)], 1
    )
    bins = compute_bins(train, n_bins=6)  # the third number has fewer bins than the others
    assert len({len(b) for b in bins}) == 2
    theirs = PiecewiseLinearEmbeddings(bins, 5, activation=True, version="B")
    ours = PiecewiseLinearNumbers(3, 6, 5, activation=True)
    ours.set_bins(bins)
    with torch.no_grad():
        theirs.linear.weight.normal_()  # zero at start: give the piecewise part a value
        ours.weight.copy_(theirs.linear.weight)
        ours.linear_weight.copy_(theirs.linear0.weight)
        ours.linear_bias.copy_(theirs.linear0.bias)
    x = torch.cat([torch.randn(64, 2, generator=g) * 3, torch.randint(-1, 4, (64, 1))], 1)
    torch.testing.assert_close(ours(x), theirs(x).flatten(1))


def test_bins_are_quantiles_or_a_tree_on_the_labelled_rows():
    g = torch.Generator().manual_seed(1)
    numbers = torch.cat([torch.randn(400, 1, generator=g), torch.full((400, 1), 2.0)], 1)
    quantile = numeric_bins(numbers, 8, None)
    torch.testing.assert_close(quantile[0], compute_bins(numbers[:, :1], 8)[0])
    torch.testing.assert_close(quantile[1], torch.tensor([1.5, 2.5]))  # one value: one bin
    labels = (numbers[:, 0] > 0.3).float()
    labels[:100] = float("nan")  # unlabelled rows do not split
    tree = numeric_bins(numbers, 8, labels)[0]
    assert len(tree) < len(quantile[0]) and (tree - 0.3).abs().min() < 0.1


@pytest.mark.parametrize("name", NETWORK_NAMES)
@pytest.mark.parametrize("bins", ["quantile", "tree"])
def test_piecewise_linear_embeddings_feed_every_network_and_are_saved(name, bins):
    model = make(name, numeric_embedding=QUANTILE | {"bins": bins})
    train = compact_batch(300, seed=2)
    labels = torch.stack([(train[:, 0] > 0).float(), (train[:, 1] > 0.5).float()], 1)
    fit_to_training_rows(model, train, labels)
    assert model.embedding.tree_task == (None if bins == "quantile" else "income")
    assert model.embedding.scale.abs().sum() > 0
    out = model(compact_batch(8))
    sum(v.sum() for v in out.values()).backward()
    assert model.embedding.weight.grad.abs().sum() > 0  # the piecewise part learns
    run = TrainedRun(1, 1, 1, 0.1, dict.fromkeys(TASKS, 0.5), model.state_dict())
    spec = model_params(name, {**PARAMS[name], "numeric_embedding": QUANTILE | {"bins": bins}})
    artifact = ModelArtifact.from_payload(
        ModelArtifact(spec, tuple(TASKS), ENCODER, LAYOUT, (run,)).to_payload()
    )
    x = compact_batch(8, seed=3)
    rebuilt = artifact.network()
    for task in TASKS:  # the bins came back with the weights, without the training rows
        assert torch.equal(model(x)[task], rebuilt(x)[task])


def test_the_embedding_is_declared_and_tunable():
    space = {
        "numeric_embedding": {
            "kind": "piecewise_linear",
            "n_bins": {"type": "int", "low": 8, "high": 64},
            "bins": {"type": "categorical", "choices": ["quantile", "tree"]},
        }
    }
    drawn = sample(FirstDraw(), space)
    params = validate(PLEParams, PARAMS["ple"] | drawn, "ple.model", {"tasks": TASKS})
    assert params.numeric_embedding.kind == "piecewise_linear"
    assert 8 <= params.numeric_embedding.n_bins <= 64
    bad = PARAMS["ple"] | {"numeric_embedding": {"kind": "piecewise_linear", "tree_task": "age"}}
    with pytest.raises(ConfigError, match=r"ple.model.numeric_embedding.tree_task = 'age'"):
        validate(PLEParams, bad, "ple.model", {"tasks": TASKS})


def test_an_override_switches_kind_when_it_drops_the_other_kinds_keys():
    periodic = PARAMS["ple"] | {"numeric_embedding": {"frequencies": 16, "dim": 8, "sigma": 1.0}}
    switch = {"numeric_embedding": {"kind": "piecewise_linear"}}
    with pytest.raises(ConfigError, match=r"numeric_embedding\.sigma: unknown key"):
        validate(PLEParams, merge_settings(periodic, switch), "ple.model", {"tasks": TASKS})
    switch["numeric_embedding"] |= {"frequencies": None, "sigma": None}
    params = validate(PLEParams, merge_settings(periodic, switch), "ple.model", {"tasks": TASKS})
    embedding = params.numeric_embedding
    assert embedding.kind == "piecewise_linear" and (embedding.bins, embedding.dim) == (
        "quantile",
        8,
    )
