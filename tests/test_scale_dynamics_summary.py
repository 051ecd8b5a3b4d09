"""``toy_balance``: the toy run's record for the weight-decay chapter, recomputed step by step."""

import math

import numpy as np
import pytest

from bn.scale_dynamics import ToyConfig, run_toy, toy_balance

CFG = ToyConfig(steps=2000, weight_decay=0.01, momentum=0.9, eps=1e-12)  # the chapter's toy run


@pytest.fixture(scope="module")
def balance():
    return toy_balance(CFG)


def test_fields_recompute_from_the_run_by_hand(balance):
    h = run_toy(CFG).as_arrays()
    norm_sq, update_sq = h["weight_norm"] ** 2, h["update_sq"]
    # The balance written out term by term (c_{T-1} from A_T - A_{T-1} = 2 c + D).
    c_last = (norm_sq[-1] - norm_sq[-2] - update_sq[-1]) / 2
    lhs = 1.9 * sum(update_sq)
    rhs = (2 * 0.5 * 0.01 * sum(norm_sq[:-1]) + 0.1 * (norm_sq[-1] - norm_sq[0])
           + 2 * 0.9 * (c_last + update_sq[-1]))
    # The gap is rounding error of sums of ~2000 float64 terms: below 2000 * 2^-52 ~ 4e-13 relative.
    assert balance.gap < 4e-13 and abs(lhs - rhs) / lhs < 4e-13
    pred = math.sqrt(2 * 0.5 * 0.01 / 1.9)
    rms = math.sqrt(sum(update_sq[1000:]) / 1000 / (sum(norm_sq[1000:2000]) / 1000))
    # Same float64 quantities summed in another order: agreement to ~1e-13 relative.
    assert balance.ratio == pytest.approx(rms / pred, rel=1e-12)
    assert balance.plain == pytest.approx(rms / math.sqrt(2 * 0.5 * 0.01), rel=1e-12)
    assert balance.angle == pytest.approx(float(np.mean(h["angle"][1000:])) / pred, rel=1e-12)
    assert balance.tau == pytest.approx(0.1 / 0.02, rel=1e-15)


def test_the_toy_sits_at_the_heavy_ball_equilibrium_not_the_plain_one(balance):
    # What the chapter states: ratio ~ 1 (within the 1 % noise of a 1000-step mean), the plain-SGD
    # formula off by the factor 1 / sqrt(1.9).
    assert balance.ratio == pytest.approx(1.0, abs=0.01)
    assert balance.plain == pytest.approx(1 / math.sqrt(1.9), rel=0.01)


def test_a_run_without_decay_has_no_equilibrium_to_compare_with():
    with pytest.raises(ValueError):
        toy_balance(ToyConfig(steps=10))
