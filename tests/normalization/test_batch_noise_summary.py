"""summarize_batch_noise: the small-batch chapter's numbers, against recomputations by hand."""

import dataclasses
import math

import numpy as np
import pytest

from bn.normalization.batch_noise import (BatchNoiseSummary, relative_var_noise, spread_discrepancy,
                                          summarize_batch_noise)

EPS = 1e-5  # BN's variance floor, the default of every function the chapter uses
TRIALS = 20_000


@pytest.fixture(scope="module")
def summary() -> BatchNoiseSummary:
    return summarize_batch_noise(TRIALS)


def gap_by_hand(x0, m, trials, seed, r_max=None, d_max=None):
    """RMS train/eval gap of x0 in batches of m (the rest N(0, 1)), written out without bn.

    Population statistics mean 0, variance 1. Batch Renorm (r_max, d_max given) multiplies the
    batch-normalized value by r = clip(sigma_B / sigma, 1/r_max, r_max) and adds
    d = clip(mu_B / sigma, -d_max, d_max), sigma = sqrt(1 + eps) (Ioffe, 2017, Algorithm 1).
    """
    batches = np.random.default_rng([seed, m]).standard_normal((m, trials))
    batches[0] = x0
    mu = batches.mean(axis=0)
    sd = np.sqrt(((batches - mu) ** 2).mean(axis=0) + EPS)
    y = (x0 - mu) / sd
    sigma = math.sqrt(1 + EPS)
    if r_max is not None:
        y = y * np.clip(sd / sigma, 1 / r_max, r_max) + np.clip(mu / sigma, -d_max, d_max)
    return float(np.sqrt(np.mean((y - x0 / sigma) ** 2)))


def test_fields_and_names_are_the_chapters(summary):
    names = []
    for f in dataclasses.fields(summary):
        value = getattr(summary, f.name)
        stem = "sb-" + f.name.replace("_", "-")
        names += [f"{stem}-{k}" for k in value] if isinstance(value, dict) else [stem]
    assert sorted(names) == sorted(
        ["sb-relnoise-4", "sb-relnoise-32", "sb-relnoise-256", "sb-trials", "sb-frac-half-4",
         "sb-mean-var-4-sim", "sb-mean-var-4-exact", "sb-spread-worst", "sb-gap-m2", "sb-gap-m4",
         "sb-gap-m256", "sb-gap-fo-m2", "sb-gap-fo-m4", "sb-gap-fo-m256", "sb-brn-tight-m4",
         "sb-brn-loose-m4"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.trials = 1


def test_exact_values_against_the_chi_square_law(summary):
    # m var_B / sigma^2 ~ chi^2_{m-1}: mean (m-1)/m, sd of var_B / E[var_B] sqrt(2/(m-1)).
    # Closed forms evaluated in float64: a few roundings, so 1e-15 relative.
    assert summary.mean_var_4_exact == pytest.approx(3 / 4, rel=1e-15)
    for m, value in summary.relnoise.items():
        assert value == pytest.approx(math.sqrt(2 * (m - 1) / m**2) / ((m - 1) / m), rel=1e-15)
    # First-order gap: sqrt((1 + x0^2 / 2) / m) with x0 = 2, i.e. sqrt(3 / m).
    for key, value in summary.gap_fo.items():
        assert value == pytest.approx(math.sqrt(3 / int(key[1:])), rel=1e-15)
    assert summary.trials == TRIALS


def test_simulated_var_b_at_m4_by_hand_and_against_the_law(summary):
    # Same generator and draws, reduced by hand: identical sums, so 1e-12 is rounding-level slack.
    batches = np.random.default_rng(4).normal(0.0, 1.0, size=(TRIALS, 4))
    var = ((batches - batches.mean(axis=1, keepdims=True)) ** 2).mean(axis=1)
    assert summary.mean_var_4_sim == pytest.approx(var.mean(), abs=1e-12)
    assert summary.frac_half_4 == pytest.approx(100 * np.mean(var < 0.25), abs=1e-9)
    # Against the exact law, 4 standard errors: P(chi^2_3 < 1) = erf(sqrt(1/2)) - sqrt(2/pi) e^{-1/2}
    # = 0.1987, se = sqrt(p (1 - p) / n) = 0.28 points; sd(var_B) = sqrt(2 * 3) / 4, se = 0.0043.
    p = math.erf(math.sqrt(0.5)) - math.sqrt(2 / math.pi) * math.exp(-0.5)
    assert abs(summary.frac_half_4 - 100 * p) < 4 * 100 * math.sqrt(p * (1 - p) / TRIALS)
    assert abs(summary.mean_var_4_sim - 0.75) < 4 * math.sqrt(6) / 4 / math.sqrt(TRIALS)


def test_spread_worst_by_hand(summary):
    worst = 0.0
    for m in (2, 4, 8, 16, 32, 64, 128, 256):
        batches = np.random.default_rng([1, m]).normal(0.0, 1.0, size=(TRIALS, m))
        mean_sd = batches.mean(axis=1).std()
        var_sd = batches.var(axis=1).std()
        exact_var_sd = math.sqrt(2 * (m - 1)) / m  # sd of sigma^2 chi^2_{m-1} / m
        worst = max(worst, abs(mean_sd * math.sqrt(m) - 1), abs(var_sd / exact_var_sd - 1))
    # Same draws; the exact sds by closed form: 1e-9 percent points covers the roundings.
    assert summary.spread_worst == pytest.approx(100 * worst, abs=1e-9)
    # The sd of a sample sd over 20 000 trials is about 0.5 % (more for var_B's heavier tail):
    # a discrepancy of several percent would mean a wrong exact formula.
    assert summary.spread_worst < 3.0


def test_train_eval_gaps_by_hand(summary):
    # Hand and package compute the same float64 sums in the same order up to NumPy's pairwise
    # reduction over m <= 256 values: 1e-12 absolute is ample on gaps of order 0.001-1.
    for m in (2, 4, 256):
        assert summary.gap[f"m{m}"] == pytest.approx(gap_by_hand(2.0, m, TRIALS, 2), abs=1e-12)
    assert summary.brn_tight_m4 == pytest.approx(gap_by_hand(2.0, 4, TRIALS, 2, 1.5, 0.5), abs=1e-12)
    assert summary.brn_loose_m4 == pytest.approx(gap_by_hand(2.0, 4, TRIALS, 2, 3.0, 5.0), abs=1e-12)


def test_a_summary_with_swapped_or_misseeded_entries_would_fail(summary):
    # Tighter clipping leaves Batch Renorm closer to BN: the tight setting has the larger gap,
    # by two orders of magnitude here, so swapping the two fields cannot pass unnoticed.
    assert summary.brn_tight_m4 > 50 * summary.brn_loose_m4
    # The gap shrinks with the batch: a key attached to the wrong size breaks the order.
    assert summary.gap["m2"] > summary.gap["m4"] > summary.gap["m256"]
    # Another seed gives another gap: the hand check above does pin the seed.
    assert abs(gap_by_hand(2.0, 4, TRIALS, 3) - summary.gap["m4"]) > 1e-4


def test_relative_var_noise_and_spread_reject_bad_input():
    with pytest.raises(ValueError):
        relative_var_noise(1)
    assert relative_var_noise(3) == 1.0
    assert spread_discrepancy((4,), 2000, seed=1) >= 0.0
