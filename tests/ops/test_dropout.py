"""The CPU dropout's mask: its rate, its scale, its gradient and its seeding."""

from __future__ import annotations

import pytest
import torch

from census_mtl.ops.dropout import LEVELS, Dropout, uniform_int16


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_keeps_each_element_at_its_rate_and_scales_it_back(p: float) -> None:
    torch.manual_seed(0)
    n, layer = 600_000, Dropout(p)
    out = layer(torch.ones(n))
    keep = (out != 0).double()
    rate = layer.kept / LEVELS
    assert abs(rate - (1 - p)) <= 0.5 / LEVELS
    sigma = (rate * (1 - rate) / n) ** 0.5
    assert abs(keep.mean().item() - rate) < 5 * sigma
    for offset in range(3):  # each of a draw's three 16-bit numbers, alike
        assert abs(keep[offset::3].mean().item() - rate) < 5 * sigma * 3**0.5
    assert torch.equal(out[out != 0], torch.full_like(out[out != 0], LEVELS / layer.kept))


def test_uniform_int16_covers_the_range_evenly() -> None:
    torch.manual_seed(1)
    numbers = uniform_int16(3 * 2**18 + 1)
    assert numbers.dtype == torch.int16 and numbers.shape == (3 * 2**18 + 1,)
    counts = torch.bincount((numbers.long() + 2**15) >> 12, minlength=16).double()
    expected = numbers.numel() / 16
    assert ((counts - expected) ** 2 / expected).sum() < 45  # chi-square, 15 dof: p < 1e-4


def test_gradient_is_the_mask_times_the_scale() -> None:
    torch.manual_seed(2)
    x = torch.randn(4, 64, 32).transpose(0, 1).requires_grad_()  # not contiguous
    layer = Dropout(0.3)
    out = layer(x)
    out.backward(torch.full_like(out, 2.0))
    mask = (out != 0).float() * (LEVELS / layer.kept)
    torch.testing.assert_close(out, x.detach() * mask, rtol=0, atol=0)
    torch.testing.assert_close(x.grad, 2.0 * mask, rtol=0, atol=0)


def test_a_seed_gives_the_same_masks_and_eval_mode_none() -> None:
    x, layer = torch.randn(1000), Dropout(0.5)
    torch.manual_seed(3)
    first = layer(x)
    torch.manual_seed(3)
    assert torch.equal(layer(x), first)
    assert not torch.equal(layer(x), first)
    assert layer.eval()(x) is x
    assert Dropout(0.0).train()(x) is x


@pytest.mark.parametrize("p", [-0.1, 1.0])
def test_a_rate_outside_zero_to_one_is_refused(p: float) -> None:
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        Dropout(p)


def test_a_compiled_graph_draws_the_same_masks_and_gradients() -> None:
    """Inside ``torch.compile`` (and ``torch.func.grad``) the mask is the eager one, and two
    dropouts of one graph draw two masks (the operator is not merged)."""
    layer, x = Dropout(0.3), torch.randn(64, 48)

    def loss(z: torch.Tensor) -> torch.Tensor:
        return (layer(z) * torch.arange(48.0)).sum()

    torch.manual_seed(4)
    expected = (layer(x), torch.func.grad(loss)(x))
    torch.manual_seed(4)
    compiled = torch.compile(lambda z: (layer(z), torch.func.grad(loss)(z)), fullgraph=True)
    first, gradient = compiled(x)
    assert torch.equal(first, expected[0])
    assert not torch.equal(gradient != 0, first != 0)  # the second draw is a new mask
    torch.manual_seed(4)
    layer(x)
    torch.testing.assert_close(gradient, expected[1], rtol=0, atol=0)
