"""What a model file must hold before any of it is used: an archive that cannot expand past
its own size, weights of the declared network's names, shapes and dtypes, all finite, and
LightGBM text models whose trees LightGBM can read without crashing (feature indices within the
input, tree sizes that match, child links that form a tree).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from census_mtl.errors import ProjectError


class ArtifactError(ProjectError, ValueError):
    """A file is not a model of this project, or not one this version can read."""


def check_archive(path: Path) -> None:
    """``torch.save`` stores every record uncompressed, so a load allocates no more than the
    file holds; a compressed record (a file that declares more than it carries) is refused."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ArtifactError(
                    f"record {info.filename} is compressed ({info.file_size:,} bytes from "
                    f"{info.compress_size:,}); torch.save writes none: not a model file"
                )


def check_weights(weights: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor]):
    """``weights`` has the names, shapes and dtypes of the declared network's, and is finite."""
    if set(weights) != set(expected):
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise ArtifactError(f"weights do not match the network: missing {missing}, extra {extra}")
    for name, want in expected.items():
        got = weights[name]
        if got.shape != want.shape or got.dtype != want.dtype:
            raise ArtifactError(
                f"weight {name}: {tuple(got.shape)} {got.dtype}, the network declares "
                f"{tuple(want.shape)} {want.dtype}"
            )
        if got.is_floating_point() and not torch.isfinite(got).all():
            raise ArtifactError(f"weight {name} is not finite (NaN or infinity)")


def _ints(block: str, key: str) -> list[int]:
    found = re.search(rf"^{key}=(.*)$", block, re.M)
    return [int(v) for v in found[1].split()] if found and found[1].strip() else []


def _check_tree(block: str, features: int) -> None:
    """One ``Tree=`` block: split features in range, children that form one tree."""
    leaves = _ints(block, "num_leaves")[0]
    nodes = leaves - 1
    split, left, right = (_ints(block, k) for k in ("split_feature", "left_child", "right_child"))
    if not (len(split) == len(left) == len(right) == nodes):
        raise ValueError(f"{nodes} internal nodes, but {len(split)}/{len(left)}/{len(right)}")
    if any(not 0 <= f < features for f in split):
        raise ValueError(f"a split on feature {max(split)}; the input has {features}")
    seen, stack = set(), [0] if nodes else []
    while stack:  # every node and leaf reached once from the root: no cycle, no sharing
        node = stack.pop()
        for child in (left[node], right[node]):
            key = ("leaf", ~child) if child < 0 else ("node", child)
            if key in seen or not (0 <= key[1] < (leaves if child < 0 else nodes)) or child == 0:
                raise ValueError(f"node {node} links to {key[0]} {key[1]} again or out of range")
            seen.add(key)
            stack += [] if child < 0 else [child]
    if len(seen) != max(nodes * 2, 0):
        raise ValueError("some nodes or leaves are not reachable from the root")


def check_booster(text: str, features: int) -> None:
    """A LightGBM text model that reads ``features`` inputs and whose trees are well formed."""
    try:
        declared = _ints(text, "max_feature_idx")[0] + 1
        if declared != features:
            raise ValueError(f"it reads {declared} features, the model input has {features}")
        body = text[text.index("\nTree=") + 1 : text.index("end of trees")]
        blocks = [b for b in re.split(r"(?=^Tree=\d+$)", body, flags=re.M) if b]
        sizes = _ints(text, "tree_sizes")
        if sizes != [len(b.encode()) for b in blocks]:
            raise ValueError("tree_sizes does not match its trees")
        for block in blocks:
            _check_tree(block, features)
    except (ValueError, IndexError) as exc:
        raise ArtifactError(
            f"a LightGBM model that LightGBM could not read safely: {exc}"
        ) from None


def check_blend_weights(weights: Mapping[str, object], tasks: Sequence[str]) -> None:
    """A blend's run gives every task one GBDT weight, a number in [0, 1]."""
    if set(weights) != set(tasks):
        raise ArtifactError(f"blend weights for {sorted(weights)}, the tasks are {list(tasks)}")
    bad = {
        t: w
        for t, w in weights.items()
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0.0 <= w <= 1.0
    }
    if bad:
        raise ArtifactError(f"blend weights that are not numbers in [0, 1]: {bad}")
