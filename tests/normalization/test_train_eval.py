"""Train-mode vs eval-mode output of one input: the gap, its first-order size, Batch Renorm."""

import math
from functools import partial

import numpy as np
import pytest

from bn.normalization.train_eval import (batch_renorm_train_outputs, batches_containing, eval_output,
                                        first_order_rms_gap, gap_curve, train_outputs)


def test_eval_output_uses_the_population_statistics():
    assert eval_output(1.7, eps=1e-5) == pytest.approx(1.7 / math.sqrt(1 + 1e-5), rel=1e-15)


def test_batches_contain_x0_first():
    b = batches_containing(0.3, 5, 7, np.random.default_rng(0))
    assert b.shape == (5, 7)
    np.testing.assert_array_equal(b[0], 0.3)


def test_train_outputs_are_bn_of_each_batch():
    rng = np.random.default_rng(1)
    out = train_outputs(0.5, 4, 3, rng)
    batches = batches_containing(0.5, 4, 3, np.random.default_rng(1))
    for t in range(3):
        b = batches[:, t]
        expected = (0.5 - b.mean()) / math.sqrt(b.var() + 1e-5)
        assert out[t] == pytest.approx(expected, rel=1e-13)  # a handful of float64 roundings


@pytest.mark.parametrize("x0", [0.0, 2.0])
def test_rms_gap_approaches_the_first_order_formula(x0):
    m, trials = 512, 8000
    (gap,) = gap_curve(x0, [m], trials, seed=0)
    # Monte Carlo relative error of an RMS from 8000 draws is ~1/sqrt(2*8000) ~ 0.8%
    # for a near-Gaussian gap; the O(1/m) correction is ~0.2%. 5% is > 5 standard errors.
    assert gap == pytest.approx(first_order_rms_gap(x0, m), rel=0.05)


def test_gap_shrinks_with_the_batch():
    gaps = gap_curve(1.0, [4, 16, 64], 4000, seed=0)
    assert gaps[0] > gaps[1] > gaps[2]


def test_unclipped_batch_renorm_has_no_gap():
    outputs = partial(batch_renorm_train_outputs, r_max=np.inf, d_max=np.inf)
    gaps = gap_curve(1.5, [2, 8], 2000, seed=0, outputs=outputs)
    # Identical to the eval output up to float64 rounding of O(1) numbers.
    assert np.all(gaps < 1e-14)


def test_clipped_batch_renorm_sits_between_bn_and_zero():
    bn_gap = gap_curve(1.5, [4], 4000, seed=0)
    brn_gap = gap_curve(1.5, [4], 4000, seed=0,
                        outputs=partial(batch_renorm_train_outputs, r_max=1.5, d_max=0.5))
    assert 0 < brn_gap[0] < bn_gap[0]


def test_argument_checks():
    with pytest.raises(ValueError, match="m must"):
        train_outputs(0.0, 1, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="trials must"):
        batches_containing(0.0, 4, 0, np.random.default_rng(0))
