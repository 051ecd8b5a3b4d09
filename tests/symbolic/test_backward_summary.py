"""summarize_backward and all_zero: the backpropagation chapter's two sizes, and its table's test."""

import dataclasses

import pytest
import sympy as sp

from bn.symbolic import backward as B
from bn.symbolic.backward import BackpropSummary, summarize_backward
from bn.symbolic.batch import all_zero

from tests.symbolic import test_backward


def check(s: BackpropSummary) -> None:
    """The glued sizes against what actually runs: the test suite's sizes and the chapter's ranges."""
    # "the tests run m <= 8": the explicit proofs of tests/symbolic/test_backward.py stop where the
    # chapter's do, so "m <= sizes_max only" covers both.
    assert s.sizes_max == max(test_backward.MS)
    assert s.sizes_max == max(B.PROVEN_SIZES) and s.quick_max == max(B.QUICK_SIZES)
    # the slower proofs run on fewer sizes than the table's, or the chapter's "here ... the tests
    # run m <= 8" would compare equal sizes
    assert s.quick_max < s.sizes_max


def test_summary_matches_the_sizes_that_run():
    check(summarize_backward())


def test_the_largest_quick_size_is_proven():
    # "Here the proofs run for m <= bp-quick-max": every form of dl/dx at that m reduces to 0.
    m = summarize_backward().quick_max
    forms = B.prove_dx_forms(m)
    assert all(all_zero(v) and len(v) == m for v in forms.values())


@pytest.mark.parametrize("wrong", [{"sizes_max": 9}, {"quick_max": 8}, {"quick_max": 8, "sizes_max": 5}])
def test_a_wrong_summary_fails(wrong):
    with pytest.raises(AssertionError):
        check(dataclasses.replace(summarize_backward(), **wrong))


def test_all_zero():
    x = sp.Symbol("x")
    assert all_zero([0, sp.Integer(0), sp.expand((x + 1) ** 2 - x ** 2 - 2 * x - 1)])
    assert not all_zero([0, x - x + 1])
    assert not all_zero([sp.Symbol("y")])   # a symbol is not known to be 0
    assert all_zero([])                      # vacuous: callers count their entries
