"""Speed kernels, kept apart from the architectures, each beside the plain-PyTorch operation
it replaces and behind one switch (``training_defaults.fast_ops``, default on):

- ``field_sum``: a first layer's category sum; its gradient by a C++ scatter kernel
  (reference: ``F.embedding_bag``);
- ``dropout``: ``nn.Dropout`` with a cheaper CPU mask (reference: ``nn.Dropout``);
- ``fused_step``: forward, backward, Adam and the weight average in one compiled graph, used
  when ``training_defaults.compile`` is on too (reference: ``torch.optim`` with
  ``AveragedModel``, ``training.step.EagerStep``).

The networks in ``models/`` call ``field_sum.training_field_sum`` and ``dropout.Dropout``;
with the switch off they compute exactly the reference operations. ``tests/ops`` compares each
kernel with its reference.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_state = {"fast": True}


def fast() -> bool:
    """Whether the speed kernels are on."""
    return _state["fast"]


@contextlib.contextmanager
def switched(on: bool) -> Iterator[None]:
    """The speed kernels on (``True``) or off for the block, as they were after it."""
    before, _state["fast"] = _state["fast"], on
    try:
        yield
    finally:
        _state["fast"] = before
