"""Funnels: tasks learned inside an earlier task's positives (impression → click → conversion).

A funnel step's label exists only in its space (``preprocess.tasks.<task>.space``: the rows
where every earlier step is 1). Every network outputs a step's probability in its space (pCVR,
p(conversion | click, x)); over the entire space it is the product along the funnel (pCTCVR =
pCTR * pCVR, ESMM's Eq. (1)), whose label is 1 where every step so far is 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

Array = np.ndarray | torch.Tensor
ENTIRE = "_entire"  # suffix of a funnel step scored over the entire space (CTCVR beside CVR)


def steps(task: str, spaces: Mapping[str, str]) -> list[str]:
    """``task`` and the steps before it, ``task`` first."""
    chain = [task]
    while chain[-1] in spaces:
        chain.append(spaces[chain[-1]])
    return chain


def _where(condition: Array, a: Array | float, b: Array) -> Array:
    return torch.where(condition, a, b) if torch.is_tensor(condition) else np.where(condition, a, b)


def entire_space_labels(labels: Array, tasks: Sequence[str], spaces: Mapping[str, str]) -> Array:
    """``(N, tasks)`` labels over the entire space: 0 where a step so far is 0, else the task's
    own label (missing where it is missing and no earlier step is 0)."""
    entire = labels.clone() if torch.is_tensor(labels) else labels.copy()
    for j, task in enumerate(tasks):
        for earlier in steps(task, spaces)[1:]:
            entire[:, j] = _where(labels[:, tasks.index(earlier)] == 0, 0.0, entire[:, j])
    return entire


def entire_space_probs(probs: Array, tasks: Sequence[str], spaces: Mapping[str, str]) -> Array:
    """``(N, tasks)`` probabilities over the entire space from in-space ones: the product along
    each task's funnel."""
    entire = probs.clone() if torch.is_tensor(probs) else probs.copy()
    for j, task in enumerate(tasks):
        for earlier in steps(task, spaces)[1:]:
            entire[:, j] = entire[:, j] * probs[:, tasks.index(earlier)]
    return entire


def in_space_probs(entire: Array, tasks: Sequence[str], spaces: Mapping[str, str]) -> Array:
    """The inverse of ``entire_space_probs``: each step's entire-space probability over its
    previous step's, capped at 1 (a model whose steps do not decrease)."""
    probs = entire.clone() if torch.is_tensor(entire) else entire.copy()
    for j, task in enumerate(tasks):
        if task in spaces:
            previous = entire[:, tasks.index(spaces[task])]
            ratio = entire[:, j] / _where(previous > 0, previous, 1.0)
            probs[:, j] = _where(previous > 0, ratio, 0.0).clip(0.0, 1.0)
    return probs


def _log1mexp(log_p: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(log_p))`` for ``log_p < 0``, stable on both sides of ``-log 2``."""
    log_p = log_p.clamp_max(-1e-7)
    return torch.where(
        log_p > -0.6931, torch.log(-torch.expm1(log_p)), torch.log1p(-torch.exp(log_p))
    )


def product_logits(
    logits: Mapping[str, torch.Tensor], funnel: Mapping[str, str]
) -> dict[str, torch.Tensor]:
    """``logits`` with each funnel step's replaced by the logit of its entire-space probability,
    the product of the in-space ones along its funnel (ESMM's pCTCVR = pCTR * pCVR), computed in
    log space; other tasks' logits as they are."""
    result = dict(logits)
    for task in funnel:
        log_p = sum(F.logsigmoid(logits[step]) for step in steps(task, funnel))
        result[task] = log_p - _log1mexp(log_p)
    return result


def in_space_logits(
    entire: Mapping[str, torch.Tensor], funnel: Mapping[str, str]
) -> dict[str, torch.Tensor]:
    """The inverse of ``product_logits``: each funnel step's logit in its space, from the
    entire-space logits of it and of its previous step (the ratio of their probabilities,
    capped at 1), in log space; other tasks' logits as they are."""
    result = dict(entire)
    for task, before in funnel.items():
        log_p = F.logsigmoid(entire[task]) - F.logsigmoid(entire[before])
        result[task] = log_p.clamp_max(0.0) - _log1mexp(log_p)
    return result
