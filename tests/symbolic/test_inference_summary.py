"""summarize_inference: the inference chapter's numbers, against a recomputation by other code."""

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from bn.population import moving_average as cv
from bn.symbolic.inference import InferenceSummary, summarize_inference


def first_below(alpha: float, target: float) -> int:
    """The first T with (1 - alpha)^T < target, by running the moving average of a 1 fed zeros."""
    running, steps = 1.0, 0
    while running >= target:
        running, steps = cv.ema_update(running, 0.0, alpha), steps + 1
    return steps


def check(s: InferenceSummary) -> None:
    # Monte Carlo: the same draws, the biased variance as E[x^2] - E[x]^2 per batch (not np.var).
    # float64 sums of 4 values: the two agree to ~1e-15, far inside the 4 and 5 decimals glued.
    x = np.random.default_rng(0).exponential(1.0, size=(200_000, 4))
    v = (x ** 2).mean(axis=1) - x.mean(axis=1) ** 2
    assert s.mc.batches == 200_000 and s.mc.exact == 0.75
    assert s.mc.mean == round(float(v.mean()), 4)
    assert s.mc.se == round(float(v.std() / np.sqrt(v.size)), 5)
    # "agrees with (m - 1)/m": within 3 standard errors (and the unbiased value 1 is not)
    assert abs(s.mc.mean - s.mc.exact) < 3 * s.mc.se < abs(s.mc.mean - 1.0)
    # What is left of the initial value: the moving average of a 1 fed 300 zeros, step by step.
    for alpha, left in ((0.01, s.ema.left_keras), (0.1, s.ema.left_pt)):
        running = 1.0
        for _ in range(s.ema.steps):
            running = cv.ema_update(running, 0.0, alpha)
        # 300 multiplications against one power: relative error ~300 ulps at most
        assert left == pytest.approx(running, rel=1e-12)
    assert s.ema.steps == 300
    assert (s.window.pt, s.window.keras) == (10.0, 100.0)
    assert s.ex.forget_pt == first_below(0.1, 0.01) and s.ex.forget_keras == first_below(0.01, 0.01)
    mprime = 32 * 14 * 14
    assert s.ex.mprime == mprime
    assert s.ex.bessel_conv == round(float(Fraction(mprime, mprime - 1)), 8)
    assert s.ex.bessel_4 == round(float(Fraction(4, 3)), 8)


def test_summary_matches_an_independent_recomputation():
    # Protects the Monte Carlo "0.7525 +- 0.0025 against 3/4", the weight left after 300 batches,
    # the windows 10 and 100, and the exercises' 44 and 459 batches, m' = 6272 and the Bessel factors.
    check(summarize_inference())


def replaced(s: InferenceSummary, group: str, **fields) -> InferenceSummary:
    return dataclasses.replace(s, **{group: dataclasses.replace(getattr(s, group), **fields)})


@pytest.mark.parametrize("group, fields", [
    ("mc", {"mean": 1.0003}),                             # np.var(ddof=1): the unbiased variance
    ("ema", {"left_keras": 1.8739277e-14, "left_pt": 0.049040894}),   # frameworks swapped
    ("window", {"pt": 100.0, "keras": 10.0}),
    ("ex", {"forget_pt": 43}),                            # floor instead of ceil
    ("ex", {"bessel_conv": round(6272 / 6271 * 32 / 31, 8)}),
])
def test_a_wrong_summary_fails(group, fields):
    with pytest.raises(AssertionError):
        check(replaced(summarize_inference(), group, **fields))
