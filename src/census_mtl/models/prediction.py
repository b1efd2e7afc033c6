"""Batched prediction: per-task probabilities of a network, in evaluation mode."""

from __future__ import annotations

import torch


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 8192) -> torch.Tensor:
    """Probabilities ``(N, tasks)`` in evaluation mode, in the order of ``model.tasks``."""
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, len(x), batch_size):
        logits = model(x[start : start + batch_size])
        chunks.append(torch.stack([logits[t] for t in model.tasks], dim=1))
    model.train(was_training)
    return torch.sigmoid(torch.cat(chunks)).cpu()
