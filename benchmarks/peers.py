"""The peers of ``train_speed.py``, each training PaddleRec's census networks the way a user of
that library would. A trainer has ``epoch()`` (one shuffled pass over the training rows) and
``probabilities(data)`` (an ``(n, 2)`` array: income, marital) and reads the input PaddleRec's
census reader feeds: the numbers and the one-hot categories in one dense row (577 columns here).

Networks (PaddleRec ``models/multitask/*/config_bigdata.yaml``): PLE with 1 level, 3 experts
per task, 2 shared experts, expert width 16, tower 8; MMoE with 8 experts of width 16, tower 8;
Shared-Bottom with a 117-unit bottom, tower 8. Adam, learning rate 1e-3, no dropout. The
libraries are not project dependencies (``make bench`` installs them into ``.venv-bench``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

TASKS = ["income", "marital"]
PLE = {"experts": 3, "shared": 2, "width": 16, "tower": 8}
MMOE = {"experts": 8, "width": 16, "tower": 8}
BOTTOM, TOWER, LEARNING_RATE = 117, 8, 1e-3


class Data:
    """One split: the compact frame, its one-hot input ``x`` and the labels ``y``."""

    def __init__(self, data_dir: Path, split: str) -> None:
        self.layout = json.loads((data_dir / "feature_layout.json").read_text())
        self.frame = pd.read_parquet(data_dir / f"{split}.parquet")
        numeric, sizes = self.layout["numeric"], self.layout["categorical"]
        codes = np.stack([self.frame[c].to_numpy(np.int64) for c in sizes], 1)
        offsets = len(numeric) + np.cumsum([0, *sizes.values()])[:-1]
        self.x = np.zeros((len(self.frame), len(numeric) + sum(sizes.values())), np.float32)
        self.x[:, : len(numeric)] = self.frame[numeric].to_numpy(np.float32)
        self.x[np.arange(len(self.frame))[:, None], codes + offsets] = 1.0
        self.y = self.frame[[f"y__{t}" for t in TASKS]].to_numpy(np.float32)


# --- DeepCTR-Torch ------------------------------------------------------------------------


class DeepCTR:
    """DeepCTR-Torch 0.3.0 through its own ``fit``. ``dense``: the one-hot row as one
    ``DenseFeat`` (its fast path); else each field through its own 4-wide embedding."""

    def __init__(
        self, model: str, batch: int, train: Data, device: str, dense: bool, seed: int
    ) -> None:
        import torch
        from deepctr_torch.inputs import DenseFeat, SparseFeat
        from deepctr_torch.models import MMOE as DeepMMOE
        from deepctr_torch.models import PLE as DeepPLE
        from deepctr_torch.models import SharedBottom

        layout = train.layout
        if dense:
            columns = [DenseFeat("x", train.x.shape[1])]
        else:
            columns = [SparseFeat(n, k, embedding_dim=4) for n, k in layout["categorical"].items()]
            columns += [DenseFeat(n, 1) for n in layout["numeric"]]
        common = {"task_types": ["binary"] * 2, "task_names": TASKS, "device": device, "seed": seed}
        towers = {"tower_dnn_hidden_units": (TOWER,)}
        if model == "ple":
            network = DeepPLE(
                columns,
                shared_expert_num=PLE["shared"],
                specific_expert_num=PLE["experts"],
                num_levels=1,
                expert_dnn_hidden_units=(PLE["width"],),
                gate_dnn_hidden_units=(),
                **towers,
                **common,
            )
        elif model == "mmoe":
            network = DeepMMOE(
                columns,
                num_experts=MMOE["experts"],
                expert_dnn_hidden_units=(MMOE["width"],),
                gate_dnn_hidden_units=(),
                **towers,
                **common,
            )
        else:
            network = SharedBottom(columns, bottom_dnn_hidden_units=(BOTTOM,), **towers, **common)
        optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
        network.compile(optimizer, "binary_crossentropy")
        self.network, self.batch, self.dense, self.layout = network, batch, dense, layout
        self.train_x, self.train_y = self.inputs(train), train.y

    def inputs(self, data: Data) -> dict[str, np.ndarray]:
        if self.dense:
            return {"x": data.x}
        return {n: data.frame[n].to_numpy(np.int64) for n in self.layout["categorical"]} | {
            n: data.frame[n].to_numpy(np.float32) for n in self.layout["numeric"]
        }

    def epoch(self) -> None:
        self.network.fit(
            self.train_x, self.train_y, batch_size=self.batch, epochs=1, verbose=0, shuffle=True
        )

    def probabilities(self, data: Data) -> np.ndarray:
        return self.network.predict(self.inputs(data), batch_size=8192)


# --- PyTorch networks in a plain loop: torch-rechub's models and a naive PLE ---------------


class TorchLoop:
    """Batches by index from tensors in memory, a summed binary cross-entropy per task, Adam:
    the shortest loop around a network that returns ``(n, 2)`` probabilities."""

    def __init__(
        self, network, train: Data, batch: int, device: str, dict_input: bool = False
    ) -> None:
        """``dict_input``: the network reads ``{"x": x}`` (torch-rechub's models do)."""
        import torch

        self.torch, self.device = torch, torch.device(device)
        self.network, self.batch = network.to(self.device), batch
        self.x = torch.from_numpy(train.x).to(self.device)
        self.y = torch.from_numpy(train.y).to(self.device)
        self.optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
        self.dict_input = dict_input

    def forward(self, x):
        return self.network({"x": x} if self.dict_input else x)

    def epoch(self) -> None:
        torch = self.torch
        self.network.train()
        order = torch.randperm(len(self.x), device=self.device)
        for start in range(0, len(order), self.batch):
            index = order[start : start + self.batch]
            probs = self.forward(self.x[index])
            loss = torch.nn.functional.binary_cross_entropy(probs, self.y[index], reduction="none")
            self.optimizer.zero_grad()
            loss.mean(0).sum().backward()
            self.optimizer.step()

    def probabilities(self, data: Data) -> np.ndarray:
        torch, x = self.torch, self.torch.from_numpy(data.x).to(self.device)
        self.network.eval()
        with torch.no_grad():
            parts = [self.forward(x[i : i + 8192]) for i in range(0, len(x), 8192)]
        return torch.cat(parts).cpu().numpy()


def rechub(model: str, train: Data, batch: int, device: str, seed: int) -> TorchLoop:
    """torch-rechub 0.9.0's PLE, MMOE or SharedBottom on the one-hot row as one
    ``DenseFeature`` (its MLPs add batch norm after every hidden layer, as the library does)."""
    import torch
    from torch_rechub.basic.features import DenseFeature
    from torch_rechub.models.multi_task import MMOE as HubMMOE
    from torch_rechub.models.multi_task import PLE as HubPLE
    from torch_rechub.models.multi_task import SharedBottom

    torch.manual_seed(seed)
    features, types = [DenseFeature("x", embed_dim=train.x.shape[1])], ["classification"] * 2
    towers = [{"dims": [TOWER]}] * 2
    if model == "ple":
        network = HubPLE(
            features,
            types,
            n_level=1,
            n_expert_specific=PLE["experts"],
            n_expert_shared=PLE["shared"],
            expert_params={"dims": [PLE["width"]]},
            tower_params_list=towers,
        )
    elif model == "mmoe":
        network = HubMMOE(features, types, MMOE["experts"], {"dims": [MMOE["width"]]}, towers)
    else:
        network = SharedBottom(features, types, {"dims": [BOTTOM]}, towers)
    return TorchLoop(network, train, batch, device, dict_input=True)


def naive_ple(train: Data, batch: int, device: str, seed: int) -> TorchLoop:
    """PaddleRec's PLE construction in PyTorch: one ``nn.Linear`` per expert and gate, in
    Python loops (the reference for what per-operator overhead costs)."""
    import torch
    from torch import nn

    class NaivePLE(nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()
            experts, n = PLE["experts"], len(TASKS)
            self.task_experts = nn.ModuleList(
                nn.Linear(width, PLE["width"]) for _ in range(n * experts)
            )
            self.shared = nn.ModuleList(
                nn.Linear(width, PLE["width"]) for _ in range(PLE["shared"])
            )
            self.gates = nn.ModuleList(nn.Linear(width, experts + PLE["shared"]) for _ in range(n))
            self.towers = nn.ModuleList(
                nn.Sequential(nn.Linear(PLE["width"], TOWER), nn.ReLU(), nn.Linear(TOWER, 1))
                for _ in range(n)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            shared, out, k = [torch.relu(e(x)) for e in self.shared], [], PLE["experts"]
            for task, (gate, tower) in enumerate(zip(self.gates, self.towers, strict=True)):
                own = [torch.relu(e(x)) for e in self.task_experts[task * k : (task + 1) * k]]
                weights = torch.softmax(gate(x), dim=-1).unsqueeze(-1)
                out.append(tower((weights * torch.stack(own + shared, 1)).sum(1)))
            return torch.sigmoid(torch.cat(out, 1))

    torch.manual_seed(seed)
    return TorchLoop(NaivePLE(train.x.shape[1]), train, batch, device)


# --- PaddleRec's networks in PaddlePaddle --------------------------------------------------


class PaddleLoop:
    """PaddleRec's census network and training step in dynamic-graph PaddlePaddle: softmax
    outputs clipped to [1e-15, 1 - 1e-15], ``log_loss`` per task, Adam. Threads come from
    ``OMP_NUM_THREADS``; the experts are indexed as intended (PaddleRec's PLE indexes task
    experts with ``i * task_num + j``, which shares experts between tasks when ``exp_per_task``
    differs from ``task_num``)."""

    def __init__(self, model: str, train: Data, batch: int, seed: int) -> None:
        import paddle

        paddle.set_device("cpu")
        paddle.seed(seed)
        self.paddle, self.batch, self.rng = paddle, batch, np.random.default_rng(seed)
        self.network = _paddle_network(model, train.x.shape[1])
        self.optimizer = paddle.optimizer.Adam(LEARNING_RATE, parameters=self.network.parameters())
        self.x, self.y = paddle.to_tensor(train.x), paddle.to_tensor(train.y)

    def epoch(self) -> None:
        paddle, log_loss = self.paddle, self.paddle.nn.functional.log_loss
        self.network.train()
        order = self.rng.permutation(self.x.shape[0])
        for start in range(0, len(order), self.batch):
            index = paddle.to_tensor(order[start : start + self.batch])
            x, y = paddle.index_select(self.x, index), paddle.index_select(self.y, index)
            outputs = self.network(x)
            loss = sum(log_loss(p[:, 1:2], y[:, t : t + 1]).mean() for t, p in enumerate(outputs))
            loss.backward()
            self.optimizer.step()
            self.optimizer.clear_grad()

    def probabilities(self, data: Data) -> np.ndarray:
        self.network.eval()
        with self.paddle.no_grad():
            parts = [
                self.network(self.paddle.to_tensor(data.x[i : i + 8192]))
                for i in range(0, len(data.x), 8192)
            ]
        return np.concatenate([np.stack([p[:, 1].numpy() for p in out], 1) for out in parts])


def _paddle_network(model: str, width: int):
    from paddle import nn

    functional = nn.functional

    def linear(inputs: int, outputs: int) -> nn.Linear:
        init = {
            "weight_attr": nn.initializer.XavierUniform(),
            "bias_attr": nn.initializer.Constant(0.1),
        }
        return nn.Linear(inputs, outputs, **init)

    class CensusNet(nn.Layer):
        """PLE (one level), MMoE or Shared-Bottom, with PaddleRec's sizes."""

        def __init__(self) -> None:
            super().__init__()
            n = len(TASKS)
            counts = {"ple": n * PLE["experts"] + PLE["shared"], "mmoe": MMOE["experts"]}
            hidden = PLE["width"] if model != "share_bottom" else BOTTOM
            self.experts = nn.LayerList(linear(width, hidden) for _ in range(counts.get(model, 1)))
            self.gates = nn.LayerList(
                linear(width, len(self.mixed(t))) for t in range(n) if model != "share_bottom"
            )
            self.towers = nn.LayerList(linear(hidden, TOWER) for _ in range(n))
            self.outputs = nn.LayerList(linear(TOWER, 2) for _ in range(n))

        def mixed(self, task: int) -> list[int]:
            """The experts task ``task``'s gate mixes."""
            if model == "mmoe":
                return list(range(MMOE["experts"]))
            k, shared = PLE["experts"], len(TASKS) * PLE["experts"]
            return [*range(task * k, (task + 1) * k), *range(shared, shared + PLE["shared"])]

        def forward(self, x):
            import paddle

            experts = [functional.relu(e(x)) for e in self.experts]
            hidden = experts * len(TASKS)  # Shared-Bottom: one bottom for every task
            if len(self.gates):
                hidden = []
                for task, gate in enumerate(self.gates):
                    weights = functional.softmax(gate(x)).unsqueeze(-1)
                    stacked = paddle.stack([experts[i] for i in self.mixed(task)], axis=1)
                    hidden.append((stacked * weights).sum(axis=1))
            return [
                paddle.clip(functional.softmax(out(functional.relu(tower(h)))), 1e-15, 1 - 1e-15)
                for h, tower, out in zip(hidden, self.towers, self.outputs, strict=True)
            ]

    return CensusNet()
