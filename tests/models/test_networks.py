import pytest
import torch

from census_mtl.config import NETWORKS
from census_mtl.features import FeatureEncoder
from census_mtl.models import FeatureLayout, ModelArtifact, TrainedRun, build_model
from census_mtl.models.inputs import InputLinear, input_linears
from census_mtl.models.layers import StackedMLP, run_on_shared_input
from census_mtl.models.registry import CONVERSION, model_params

NETWORK_NAMES = list(NETWORKS)
LAYOUT = FeatureLayout.unnamed(3, (4, 6, 3))
# The encoder that writes LAYOUT: three numbers, fields of 3, 5 and 2 values (+ the unseen slot).
ENCODER = FeatureEncoder(
    {str(i): (0.0, 1.0) for i in range(3)},
    {"0": list("abc"), "1": list("abcde"), "2": list("ab")},
    {},
)
TASKS = ["income", "marital"]
PARAMS = {
    "ple": {
        "levels": [
            {"experts_per_task": 3, "shared_experts": 2, "expert_hidden_units": [8, 6]},
            {
                "experts_per_task": 1,
                "shared_experts": 2,
                "expert_hidden_units": [16],
                "shared_expert_hidden_units": [8, 16],
            },
        ],
        "gate_hidden_units": [5],
        "tower_hidden_units": [3],
    },
    "cgc": {
        "levels": [{"experts_per_task": 3, "shared_experts": 2, "expert_hidden_units": [8]}],
        "gate_hidden_units": [],
        "tower_hidden_units": [4],
    },
    "mmoe": {"num_experts": 4, "expert_hidden_units": [8], "gate_hidden_units": []},
    "share_bottom": {"bottom_hidden_units": [8, 4], "tower_hidden_units": [3]},
    "single_task": {"hidden_units": [8], "tower_hidden_units": [3]},
    "esmm": {"embedding_dim": 3, "hidden_units": [8], "tower_hidden_units": [3]},
    "aitm": {"embedding_dim": 3, "hidden_units": [8, 6], "tower_hidden_units": [3]},
}
DENSE_NAMES = [n for n in NETWORK_NAMES if n not in CONVERSION]  # ESMM, AITM: embeddings


def compact_batch(n: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    codes = [torch.randint(0, c, (n,), generator=g) for c in LAYOUT.cardinalities]
    return torch.cat([torch.randn(n, LAYOUT.n_numeric, generator=g), torch.stack(codes, 1)], 1)


def make(name: str, spec=LAYOUT, seed: int = 0, **overrides) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(name, spec, TASKS, {**PARAMS[name], **overrides})


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_outputs_one_logit_per_row_and_task(name):
    out = make(name)(compact_batch(16))
    assert set(out) == set(TASKS)
    assert all(v.shape == (16,) for v in out.values())


@pytest.mark.parametrize("name", DENSE_NAMES)
@pytest.mark.parametrize("norm", [None, "batch", "layer"])
def test_compact_input_equals_dense_one_hot(name, norm):
    compact, dense = make(name, norm=norm).eval(), make(name, LAYOUT.one_hot_dim, norm=norm).eval()
    for (k, a), (_, b) in zip(
        compact.state_dict().items(), dense.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k
    x = compact_batch(32)
    one, two = compact(x), dense(LAYOUT.to_one_hot(x))
    for task in TASKS:
        torch.testing.assert_close(one[task], two[task], rtol=1e-5, atol=1e-6)


def test_fused_first_layers_match_separate_layers_bit_for_bit():
    torch.manual_seed(0)
    layers = [InputLinear(LAYOUT, width) for width in (12, 5, 7)]
    x, upstream = compact_batch(64), [torch.randn(64, w) for w in (12, 5, 7)]

    def outputs_and_grads(fused: bool):
        for layer in layers:
            layer.zero_grad()
        outs = input_linears(x, layers) if fused else [layer(x) for layer in layers]
        sum((o * g).sum() for o, g in zip(outs, upstream, strict=True)).backward()
        return outs, [p.grad.clone() for layer in layers for p in layer.parameters()]

    (fused, fused_grads), (plain, plain_grads) = outputs_and_grads(True), outputs_and_grads(False)
    assert all(torch.equal(a, b) for a, b in zip(fused, plain, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(fused_grads, plain_grads, strict=True))


def test_mlps_on_a_shared_input_keep_their_order_and_gaps():
    torch.manual_seed(0)
    a, b = (StackedMLP(n, LAYOUT, [4], shared_input=True) for n in (2, 3))
    x = compact_batch(8)
    out_a, gap, out_b = run_on_shared_input(x, [a, None, b])
    assert gap is None and torch.equal(out_a, a(x)) and torch.equal(out_b, b(x))


def test_one_hot_view():
    x = torch.tensor([[0.5, -1.0, 2.0, 3.0, 0.0, 2.0]])
    assert LAYOUT.to_one_hot(x).tolist() == [
        [0.5, -1.0, 2.0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    ]


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_seeded_builds_are_identical(name):
    a, b = make(name, seed=3), make(name, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def _grads_of_task(model, task: str) -> dict[str, torch.Tensor]:
    model.zero_grad()
    model(compact_batch(64))[task].sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _per_member(group) -> torch.Tensor:
    """Gradients of a stacked MLP as one row per member ``(n, -1)``."""
    rows = []
    for module in [group.first, *group.rest]:
        for grad in (module.weight.grad, module.bias.grad):
            if isinstance(module, InputLinear):  # columns are member-major
                grad = grad.reshape(-1, group.n, grad.shape[-1] // group.n).transpose(0, 1)
            rows.append(grad.reshape(group.n, -1))
    return torch.cat(rows, dim=1)


@pytest.mark.parametrize("name", ["cgc", "ple"])
def test_task_experts_get_no_gradient_from_other_tasks(name):
    model = make(name)
    last = model.levels[-1]
    e = last.experts_per_task
    _grads_of_task(model, "marital")
    grads = _per_member(last.task_experts)
    assert torch.count_nonzero(grads[:e]) == 0  # income's experts
    assert (grads[e:].abs().sum(1) > 0).all()  # marital's experts


def test_single_task_networks_share_no_gradient():
    model = make("single_task")
    income, marital = _grads_of_task(model, "income"), _grads_of_task(model, "marital")
    for name in income:
        overlap = (income[name] != 0) & (marital[name] != 0)
        assert not overlap.any(), name


@pytest.mark.parametrize("name", ["ple", "cgc", "mmoe"])
def test_every_expert_is_used(name):
    model = make(name)
    model.zero_grad()
    out = model(compact_batch(64))
    (out["income"].sum() + out["marital"].sum()).backward()
    for level in model.levels:
        for group in (level.task_experts, level.shared_experts):
            if group is None:
                continue
            assert (_per_member(group).abs().sum(1) > 0).all()


def test_gates_route_as_in_the_paper():
    model = make("ple")
    first, last = model.levels
    # per-task gates over own + shared experts, plus a shared gate on every level but the last
    assert first.allowed.shape == (3, 3 * 2 + 2)
    assert last.allowed.shape == (2, 1 * 2 + 2)
    assert first.allowed.tolist() == [
        [True, True, True, False, False, False, True, True],
        [False, False, False, True, True, True, True, True],
        [True] * 8,
    ]
    assert make("cgc").levels[0].allowed.shape[0] == 2  # CGC: no shared gate
    assert make("mmoe").levels[0].allowed.all()  # MMoE: every gate sees every expert


def test_tasks_never_share_task_experts_whatever_the_counts():
    """PaddleRec picks experts with i * task_num + j, sharing experts when counts differ."""
    for experts in (1, 2, 3, 5):
        params = {
            **PARAMS["cgc"],
            "levels": [{**PARAMS["cgc"]["levels"][0], "experts_per_task": experts}],
        }
        torch.manual_seed(0)
        level = build_model("cgc", LAYOUT, TASKS, params).levels[0]
        task_part = level.allowed[:2, : 2 * experts]
        assert (task_part.sum(0) == 1).all()  # each task expert belongs to exactly one task


def test_gate_weights_sum_to_one_and_forbidden_are_zero():
    level = make("ple").levels[0]
    weights = level.gate_weights(level.gates(compact_batch(8)))
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 8))
    assert (weights[~level.allowed.unsqueeze(1).expand_as(weights)] == 0).all()


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_initialisation_is_random_per_unit(name):
    for param in make(name).parameters():
        if param.dim() >= 2 and param.shape[-1] > 1:
            columns = param.reshape(-1, param.shape[-1]).T
            assert len(torch.unique(columns, dim=0)) == len(columns)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("plee", {}, "'plee' is not a network; networks: ple, cgc, mmoe, share_bottom"),
        (
            "mmoe",
            {**PARAMS["mmoe"], "num_expert": 3},
            r"model.num_expert: unknown key \(did you mean 'num_experts'\?\)",
        ),
        (
            "mmoe",
            {"expert_hidden_units": [4], "gate_hidden_units": []},
            "model.num_experts: missing",
        ),
        (
            "mmoe",
            {**PARAMS["mmoe"], "num_experts": 0},
            "model.num_experts = 0: Input should be greater than or equal to 1",
        ),
        (
            "single_task",
            {"hidden_units": []},
            r"model.hidden_units = \[\]: List should have at least 1 item",
        ),
        (
            "share_bottom",
            {**PARAMS["share_bottom"], "norm": "group"},
            "model.norm = 'group': Input should be 'batch' or 'layer'",
        ),
        (
            "share_bottom",
            {**PARAMS["share_bottom"], "dropout": 1.0},
            "model.dropout = 1.0: Input should be less than 1",
        ),
        (
            "share_bottom",
            {**PARAMS["share_bottom"], "activation": "swish"},
            "model.activation = 'swish'",
        ),
        (
            "cgc",
            {**PARAMS["cgc"], "levels": PARAMS["ple"]["levels"]},
            "model.levels = .*at most 1 item",
        ),
        (
            "ple",
            {
                **PARAMS["ple"],
                "levels": [
                    {"experts_per_task": 0, "shared_experts": 0, "expert_hidden_units": [4]}
                ],
            },
            "at least one expert",
        ),
        (
            "ple",
            {
                **PARAMS["ple"],
                "levels": [
                    {
                        "experts_per_task": 1,
                        "shared_experts": 1,
                        "expert_hidden_units": [4],
                        "shared_expert_hidden_units": [5],
                    }
                ],
            },
            "share an output width",
        ),
        (
            "ple",
            {**PARAMS["ple"], "levels": [{"experts_per_task": 1, "shared_experts": 1}]},
            "model.levels.0.expert_hidden_units: missing",
        ),
    ],
)
def test_bad_configuration_is_explained(name, params, message):
    with pytest.raises(ValueError, match=message):
        build_model(name, LAYOUT, TASKS, params)


def test_duplicate_tasks_are_rejected():
    with pytest.raises(ValueError, match="distinct"):
        build_model("mmoe", LAYOUT, ["a", "a"], PARAMS["mmoe"])


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_artifact_rebuilds_the_same_model(name):
    model = make(name).eval()
    other = make(name, seed=1).eval()
    runs = tuple(
        TrainedRun(seed, 1, 1, 0.1, {t: 0.5 + seed / 10 for t in TASKS}, net.state_dict())
        for seed, net in enumerate([model, other])
    )
    stored = ModelArtifact(model_params(name, PARAMS[name]), tuple(TASKS), ENCODER, LAYOUT, runs)
    artifact = ModelArtifact.from_payload(stored.to_payload())  # through plain data
    assert artifact.run_index("best") == 1 and artifact.run_index(0) == 0
    rebuilt, second = artifact.network(), artifact.network(1)
    x = compact_batch(8)
    for task in TASKS:
        assert torch.equal(model(x)[task], rebuilt(x)[task])
        assert torch.equal(other(x)[task], second(x)[task])


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_periodic_numeric_embeddings_feed_every_network(name):
    spec = {"frequencies": 4, "dim": 3, "sigma": 0.5}
    model = make(name, numeric_embedding=spec)
    out = model(compact_batch(8))
    assert set(out) == set(TASKS) and all(v.shape == (8,) for v in out.values())
    sum(v.sum() for v in out.values()).backward()
    assert model.embedding.frequencies.grad.abs().sum() > 0  # the frequencies learn
    assert model.embedding.weight.shape == (LAYOUT.n_numeric, 8, 3)
    with pytest.raises(ValueError, match="numeric_embedding needs the compact input"):
        make(name, spec=LAYOUT.one_hot_dim, numeric_embedding=spec)
