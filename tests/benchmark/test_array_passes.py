"""The array-pass counter: exact counts on known functions, and BN's forward/backward."""

import numpy as np
import pytest

from bn.functional import batch_norm_backward, batch_norm_backward_staged, batch_norm_forward
from bn.benchmark.array_passes import count_array_passes
from bn.functional.backward import compact_gradients
from bn.functional.backward_staged import staged_gradients
from bn.functional.forward import forward_arithmetic


def test_counts_a_fused_multiply_add_written_in_numpy():
    a, b, c = (np.ones((4, 5)) for _ in range(3))
    count = count_array_passes(lambda a, b, c: a * b + c, a, b, c)
    # a * b: 2 reads, 1 write (temporary); + c: 2 reads, 1 write.
    assert (count.reads, count.writes, count.passes) == (4, 2, 6)
    assert count.elementwise_ops == 2 and count.reductions == 0
    assert count.bytes_moved == 6 * 20 * 8


def test_small_operands_and_reductions():
    x = np.ones((8, 3))
    w = np.ones((1, 3))
    count = count_array_passes(lambda x, w: (x * w).sum(axis=0), x, w)
    # x * w: reads x (w is per-channel, not counted), writes a temporary;
    # the sum reads it and writes a (3,) vector (not counted).
    assert (count.reads, count.writes) == (2, 1)
    assert count.reductions == 1 and count.by_ufunc() == {"multiply": 2, "add.reduce": 1}


def test_needs_an_array():
    with pytest.raises(ValueError):
        count_array_passes(lambda: None)


@pytest.fixture
def bn_case():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4, 5, 5))
    y, cache = batch_norm_forward(x, np.ones(4), np.zeros(4))
    return x, rng.normal(size=x.shape), cache


def test_tracing_does_not_change_results(bn_case):
    _, dy, cache = bn_case
    expected = batch_norm_backward(dy, cache)
    results = []
    count_array_passes(lambda d, c: results.append(compact_gradients(d, c)), dy, cache)
    for a, b in zip(results[0], expected):
        np.testing.assert_array_equal(np.asarray(a), b)


def test_backward_pass_counts(bn_case):
    # Regression counts of the two backward passes as written (NumPy, one
    # temporary per operator); the book's chapter explains each one.
    _, dy, cache = bn_case
    compact = count_array_passes(compact_gradients, dy, cache)
    staged = count_array_passes(staged_gradients, dy, cache)
    assert (compact.passes, compact.reductions, compact.elementwise_ops) == (14, 2, 5)
    assert (staged.passes, staged.reductions, staged.elementwise_ops) == (23, 4, 8)
    np.testing.assert_allclose(batch_norm_backward_staged(dy, cache)[0], batch_norm_backward(dy, cache)[0],
                               atol=1e-13)


def test_forward_pass_count(bn_case):
    x, _, _ = bn_case
    count = count_array_passes(forward_arithmetic, x, np.ones(4), np.zeros(4), 1e-5)
    # mean (1 read), x - mean (1r 1w), c * c (2r 1w), its mean (1r),
    # c * inv_std (1r 1w), gamma * x_hat (1r 1w), + beta (1r 1w).
    assert (count.reads, count.writes, count.reductions) == (8, 5, 2)


def test_pass_counts_of_the_two_codes_and_their_floor(bn_case):
    from bn.benchmark.array_passes import pass_counts

    x, dy, _ = bn_case
    counts = pass_counts(x.astype(np.float32), np.ones(4, np.float32), np.zeros(4, np.float32),
                         dy.astype(np.float32))
    table = counts.table()
    assert table.header == ["code", "reads", "writes", "passes"]
    # The readable forward (8 reads, 5 writes, as counted above) and the compact backward (14 passes).
    assert table.rows[0] == ["readable", "17", "10", "27"] and counts.compact_backward.passes == 14
    assert table.rows[1][0] == "fewer-pass" and int(table.rows[1][3]) < 27
    assert table.rows[2] == ["floor of the bandwidth bound", "3", "2", "5"]
    s = counts.summary()
    assert (s.passes_readable, s.passes_fused, s.passes_compact_bwd) == (27, int(table.rows[1][3]), 14)
    assert s.vecdot_reads == counts.fewer_pass.by_ufunc()["vecdot"] > 0
