"""The formulas-to-code chapter's summary: compact against staged backward, agreement and traffic."""

import math

import numpy as np
import pytest

from bn.benchmark.array_passes import count_array_passes
from bn.functional import batch_norm_backward, batch_norm_backward_staged, batch_norm_forward
from bn.functional.backward import compact_gradients
from bn.functional.backward_staged import staged_gradients
from bn.gradcheck.backward_forms import backward_forms_agreement, summarize_backward_forms

U64 = np.finfo(np.float64).eps / 2
RATIOS = [0.0, 1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6]  # the chapter's mean/std sweep
N16 = 16 * 2**20


@pytest.fixture(scope="module")
def counts():
    # The chapter's traffic input: a (16, 8, 8, 8) float64 batch.
    x = np.random.default_rng(2).normal(size=(16, 8, 8, 8))
    dy = np.random.default_rng(3).normal(size=x.shape)
    _, cache = batch_norm_forward(x, np.ones(8), np.zeros(8))
    return count_array_passes(compact_gradients, dy, cache), count_array_passes(staged_gradients, dy, cache)


@pytest.fixture(scope="module")
def summary(counts):
    return summarize_backward_forms(*counts, RATIOS, fused_passes=5, elements=N16)


def _norm(v):
    return math.sqrt(math.fsum(float(t) ** 2 for t in np.ravel(v)))


def _by_hand(ratio):
    """dx of both forms on the chapter's input at ``ratio``, their relative difference with
    exactly rounded norms, and kappa_x from the channels' standard deviations."""
    rng = np.random.default_rng(1)
    x = rng.normal(loc=ratio, scale=1.0, size=(32, 8, 4, 4))
    dy = rng.standard_normal(x.shape)
    gamma, beta = rng.normal(1, 0.2, 8), rng.normal(0, 0.2, 8)
    _, cache = batch_norm_forward(x, gamma, beta)
    a, b = batch_norm_backward(dy, cache)[0], batch_norm_backward_staged(dy, cache)[0]
    rel = _norm(a - b) / max(_norm(a), _norm(b))
    stds = [float(np.sqrt(np.mean((x[:, c] - x[:, c].mean()) ** 2))) for c in range(8)]
    return rel, max(1.0, float(np.abs(x).max()) / min(stds))


def test_agreement_fields_match_a_recomputation_by_hand(summary):
    # The relative error is a ratio of two norms of float64 vectors of 4096 values; computing the
    # norms in a different order changes each by a few u relative, so 1e-12 relative is ample.
    well, _ = _by_hand(0.0)
    worst, kappa_worst = _by_hand(1e6)
    assert summary.agree_well_scaled == pytest.approx(well, rel=1e-12)
    # "reaching ... at |mu|/sigma = 10^6": the worst difference is the one at the largest shift.
    assert summary.agree_worst_dx == pytest.approx(worst, rel=1e-12)
    rows = backward_forms_agreement(RATIOS)
    assert rows[-1].kappa == pytest.approx(kappa_worst, rel=1e-12)
    assert summary.m == 32 * 4 * 4


def test_the_agreement_the_chapter_states(summary):
    # "For a well-scaled input the two forms differ by ..., about one float64 ulp" (ulp = 2u).
    assert summary.agree_well_scaled < 4 * U64
    # "across the whole range the difference stays within ... u kappa_x", and the figure's
    # caption: "staying below u kappa_x".
    assert summary.agree_max_ratio < 1
    # "Once kappa_x exceeds about 10^3 it grows in proportion to kappa_x": the difference at the
    # largest shift is many thousand times the well-scaled one.
    assert summary.agree_worst_dx > 1e3 * summary.agree_well_scaled


def test_traffic_fields_match_the_counts_and_the_arithmetic(summary, counts):
    compact, staged = counts
    assert (summary.passes_compact, summary.passes_staged) == (compact.passes, staged.passes)
    # By hand: passes x 16 Mi values x 4 bytes, in GB.
    assert summary.gb_staged_16m == pytest.approx(staged.passes * 16 * 2**20 * 4 / 1e9, rel=1e-15)
    assert summary.gb_compact_16m == pytest.approx(compact.passes * 67108864 / 1e9, rel=1e-15)
    assert summary.passes_ratio == pytest.approx(staged.passes / compact.passes, rel=1e-15)
    # "two extra reductions", and the staged form makes more passes than the compact one.
    assert summary.red_staged - summary.red_compact == 2
    assert summary.passes_staged > summary.passes_compact > summary.passes_fused == 5


def test_swapped_forms_would_fail_the_chapters_claims(counts):
    # A summary fed the counts in the wrong order reports the staged form as the cheaper one:
    # the claims above would fail on it.
    compact, staged = counts
    wrong = summarize_backward_forms(staged, compact, RATIOS[:1], fused_passes=5, elements=N16)
    assert wrong.passes_ratio < 1 and wrong.red_staged - wrong.red_compact == -2

