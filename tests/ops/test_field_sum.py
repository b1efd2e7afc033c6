"""The category sum's training path: the scatter kernel against ``embedding_bag``."""

import logging

import pytest
import torch
import torch.nn.functional as F

from census_mtl.ops import field_sum
from census_mtl.ops.field_sum import SMALL_BATCH, _BagSum, scatter_rows, training_field_sum


def codes_and_table(n: int, cardinalities=(3, 9, 2, 30), width: int = 20):
    g = torch.Generator().manual_seed(n)
    offsets = torch.tensor((0, *cardinalities[:-1])).cumsum(0)
    codes = torch.stack([torch.randint(0, c, (n,), generator=g) for c in cardinalities], 1)
    table = torch.randn(sum(cardinalities), width, generator=g, requires_grad=True)
    return codes + offsets, table


@pytest.mark.parametrize("rows", [1, 7, 1024])  # 1024: the kernel runs on every thread
def test_gradient_matches_embedding_bag(rows):
    codes, table = codes_and_table(rows)
    grad = torch.randn(rows, table.shape[1])
    expected = torch.autograd.grad(F.embedding_bag(codes, table, mode="sum"), table, grad)[0]
    output = _BagSum.apply(codes, table)
    torch.testing.assert_close(output, F.embedding_bag(codes, table, mode="sum"), rtol=0, atol=0)
    ours = torch.autograd.grad(output, table, grad)[0]  # sums of up to ~350 rows, another order
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(("rows", "path"), [(SMALL_BATCH, "EmbeddingBag"), (129, "_BagSum")])
def test_eager_training_takes_the_kernel_above_small_batches(rows, path):
    codes, table = codes_and_table(rows)
    assert path in type(training_field_sum(codes, table).grad_fn).__name__


def test_the_gradient_does_not_depend_on_the_thread_count():
    codes, table = codes_and_table(2048)
    grad = torch.randn(2048, table.shape[1])
    threads = torch.get_num_threads()
    try:
        grads = []
        for count in (1, 2, 3):
            torch.set_num_threads(count)
            grads.append(scatter_rows(codes, grad, table.shape[0]))
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(g, grads[0]) for g in grads)


def test_codes_outside_the_table_are_never_written():
    codes = torch.tensor([[0, 5], [-1, 2]])
    out = scatter_rows(codes, torch.ones(2, 3), 3)
    torch.testing.assert_close(out, torch.tensor([[1.0] * 3, [0.0] * 3, [1.0] * 3]))


def test_without_a_compiler_training_falls_back_to_embedding_bag(monkeypatch, caplog):
    def no_compiler(_source):
        raise RuntimeError("g++: not found\nmore")

    monkeypatch.setattr("torch._inductor.codecache.CppCodeCache.load", no_compiler)
    field_sum.scatter_kernel.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            assert field_sum.scatter_kernel() is None
        codes, table = codes_and_table(256)
        output = training_field_sum(codes, table)
        assert "EmbeddingBag" in type(output.grad_fn).__name__
    finally:
        field_sum.scatter_kernel.cache_clear()
    assert "No C++ kernel for the category sum's gradient (g++: not found)" in caplog.text
