"""The last batch of an epoch (bn.population.epoch_tail) and the drop_last exercise's numbers."""

import pytest
import sympy

from bn.experiments.population_statistics import EX_HIGH, EX_LOW, EX_N, epoch_exercises
from bn.population.epoch_tail import epoch_tails, smallest_tail, tail_free_batch_sizes


def test_tails_against_a_count_of_full_batches():
    n = 103
    for b, t in epoch_tails(n, range(1, 40)).items():
        full = 0
        while (full + 1) * b <= n:
            full += 1
        assert t == n - full * b


def test_tail_free_sizes_and_smallest_tail():
    tails = epoch_tails(60, [7, 10, 11, 12, 13])  # tails 4, 0, 5, 0, 8
    assert tail_free_batch_sizes(tails) == [10, 12]
    assert smallest_tail(tails) == (4, [7])
    with pytest.raises(ValueError):
        smallest_tail(epoch_tails(60, [10, 12]))
    with pytest.raises(ValueError):
        epoch_tails(60, [0])


def test_no_batch_size_in_the_range_leaves_a_single_image():
    # Protects the drop_last exercise's "the tail has one image exactly when b divides n - 1,
    # and that number is prime: no batch size between lo and hi leaves a single image".
    assert sympy.isprime(EX_N - 1)
    tails = epoch_tails(EX_N, range(EX_LOW, EX_HIGH + 1))
    assert [b for b, t in tails.items() if t == 1] == []


def test_exercise_record_against_a_direct_count():
    ex = epoch_exercises()
    sizes = range(EX_LOW, EX_HIGH + 1)
    no_tail = [b for b in sizes if EX_N % b == 0]
    least = min(EX_N % b for b in sizes if EX_N % b)
    assert ex.n == "50,000" and ex.n1 == "49,999" and ex.tail_b == EX_N % ex.b == 80
    assert ex.no_tail == ", ".join(map(str, no_tail)) and ex.min_tail == least
    assert ex.min_tail_b == " and ".join(str(b) for b in sizes if EX_N % b == least)
    # 0.97^100 by repeated multiplication: float64, 100 roundings of relative 1.1e-16.
    w = 1.0
    for _ in range(100):
        w *= 0.97
    assert ex.initial_weight == pytest.approx(100 * w, rel=1e-13)
