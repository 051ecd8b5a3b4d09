"""The preface's first computation: the summary of a normalized batch's moments, and the paper's
headline numbers it is set against."""

import math

import numpy as np
import pytest

from bn.functional import batch_norm_forward
from bn.functional.moments import summarize_normalized_batch
from bn.glue import glue_record

EPS = 1e-5
U64 = np.finfo(np.float64).eps / 2


def _preface_batch():
    # The preface's batch: 64 examples, three features of wildly different means and spreads.
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[3.0, -1.0, 100.0], scale=[2.0, 0.5, 25.0], size=(64, 3))
    y, _ = batch_norm_forward(x, np.ones(3), np.zeros(3), eps=EPS)
    return x, y


def _channel(x, j):
    return [float(v) for v in x[:, j]]


def _pvariance(values):
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values) / len(values)


def test_the_preface_batch_has_mean_zero_and_variance_just_below_one():
    # Protects "every feature has mean zero up to rounding ... and variance just below one",
    # "falls short of one by at most ..." and "matches the computed variance to ...".
    x, y = _preface_batch()
    s = summarize_normalized_batch(x, y, EPS)
    # Independent recomputation with exactly rounded sums (math.fsum), channel by channel.
    shortfalls = [EPS / (_pvariance(_channel(x, j)) + EPS) for j in range(3)]
    # The summary's shortfall is 1 - var/(var+eps) in float64: the subtraction from 1 loses
    # nothing beyond u, relative to 1, so it matches the exact shortfall to a few u absolute.
    assert s.var_shortfall == pytest.approx(max(shortfalls), abs=8 * U64)
    # The second channel (std 0.5) has the smallest variance, so the largest shortfall.
    assert max(shortfalls) == shortfalls[1]
    # Output means: a sum of 64 normalized values of size ~1 carries a rounding error of at most
    # m u per term (m = 64), and the mean divides by m: below 64 u.
    means = [math.fsum(_channel(y, j)) / 64 for j in range(3)]
    assert max(abs(m) for m in means) < 64 * U64
    assert s.max_abs_mean < 64 * U64
    # The computed output variance equals var/(var+eps) to rounding: two float64 variances of 64
    # terms each, each within about 2 m u relative, hence a gap below 4 m u.
    exact_var = [_pvariance(_channel(y, j)) for j in range(3)]
    expected = [1 - sf for sf in shortfalls]
    assert max(abs(a - b) for a, b in zip(exact_var, expected)) < 4 * 64 * U64
    assert s.var_gap < 4 * 64 * U64
    # The shortfall is "exact mathematics": far above the rounding-level gap.
    assert s.var_shortfall > 1e6 * s.var_gap


def test_a_mismatched_eps_shows_as_a_gap():
    # A summary fed the output of another eps (here 1e-3) must not report a rounding-level gap:
    # the gap is then eps'/(var+eps') - eps/(var+eps), about 4e-3 for the std-0.5 channel.
    x, _ = _preface_batch()
    y_other, _ = batch_norm_forward(x, np.ones(3), np.zeros(3), eps=1e-3)
    s = summarize_normalized_batch(x, y_other, EPS)
    assert s.var_gap > 1e-3


def test_the_paper_numbers_are_the_papers():
    # Protects the preface's "Faster training" and "Better accuracy" items: Fig. 3's steps
    # (31.0M for Inception, 2.1M for BN-x5, 13.3M for BN-Baseline) and Section 4.2.3's errors.
    x, y = _preface_batch()
    paper = summarize_normalized_batch(x, y, EPS).paper
    assert paper.speedup_bn_x5 == pytest.approx(31.0 / 2.1, rel=1e-15)
    assert paper.speedup_bn_baseline == pytest.approx(31.0 / 13.3, rel=1e-15)
    assert paper.ensemble_top5_val == pytest.approx(4.9, rel=1e-15)
    assert paper.ensemble_top5_test == pytest.approx(4.82, rel=1e-15)
    # The two speedups are easy to conflate; the prose keeps them apart.
    assert paper.speedup_bn_x5 > 6 * paper.speedup_bn_baseline


def test_glued_under_the_names_the_prose_uses(monkeypatch):
    import bn.glue

    monkeypatch.setattr(bn.glue, "_myst_nb_glue", lambda: lambda *a, **k: None)
    x, y = _preface_batch()
    names = glue_record(summarize_normalized_batch(x, y, EPS), "preface_")
    assert sorted(names) == sorted([
        "preface_max_abs_mean", "preface_var_gap", "preface_var_shortfall", "paper_speedup_bn_x5",
        "paper_speedup_bn_baseline", "paper_ensemble_top5_val", "paper_ensemble_top5_test"])


def test_refuses_a_batch_that_is_not_n_by_c():
    with pytest.raises(ValueError, match="one \\(N, C\\) shape"):
        summarize_normalized_batch(np.zeros((4, 3, 2)), np.zeros((4, 3, 2)), EPS)
