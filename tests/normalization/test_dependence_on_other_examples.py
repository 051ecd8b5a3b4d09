"""Property: changing example j changes output i != j for BN only."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bn.normalization import FAMILY, cross_example_change

batches = st.tuples(st.integers(2, 6), st.sampled_from([2, 4, 6]), st.integers(2, 5),
                    st.integers(0, 2**32 - 1))


def draw(n, c, hw, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, hw))
    j = int(rng.integers(n))
    # A shift of at least 0.5 in every value: it moves every channel's batch mean by >= 0.5 / n.
    delta = rng.uniform(0.5, 2.0, (c, hw))
    return x, j, delta


@settings(max_examples=40, deadline=None)
@given(batches)
def test_per_example_members_ignore_the_other_examples(params):
    x, j, delta = draw(*params)
    for name in ("layer", "instance", "group"):
        change = cross_example_change(FAMILY[name], x, j, delta)
        others = np.delete(change, j)
        # Example i's statistics read example i only, so the change is zero in exact
        # arithmetic and in practice bitwise. The bound allows a SIMD reduction whose
        # order depends on memory alignment (a few roundings of outputs, which are at
        # most sqrt(set size - 1) < 6 in magnitude here), and is
        # still ~1e11 times below BN's change in the test below.
        assert np.all(others <= 8 * np.finfo(np.float64).eps * 10), (name, change)
        assert change[j] > 0


@settings(max_examples=40, deadline=None)
@given(batches)
def test_batch_norm_couples_every_example(params):
    x, j, delta = draw(*params)
    change = cross_example_change(FAMILY["batch"], x, j, delta)
    others = np.delete(change, j)
    # The batch mean of every channel moves by >= 0.5/n >= 0.08 (n <= 6); the
    # examples i != j keep their values, so their outputs move by that over a
    # batch std of a few units: far above float64 rounding (~1e-15).
    assert np.all(others > 1e-3), change


def test_cross_example_change_checks_its_arguments():
    import pytest

    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="shape"):
        cross_example_change(FAMILY["layer"], x, 0, np.zeros(3))
    with pytest.raises(ValueError, match="out of range"):
        cross_example_change(FAMILY["layer"], x, 3, np.zeros(2))
