"""The precision chapter's summary and claims, on the chapter's own sweeps over mean/std."""

import math

import numpy as np
import pytest
import torch

from bn.precision.errors import PrecisionCase, draw_case
from bn.precision.sweep import (forward_backward_sweep, summarize_precision, unmet_claims,
                                variance_sweep)

RATIOS = [0.1, 1.0, 10.0, 100.0, 1e3, 1e4]  # the chapter's mean/std sweep


@pytest.fixture(scope="module")
def sweeps():
    var_rec = variance_sweep("mean", RATIOS, dtypes=("float16", "float32"), base=PrecisionCase())
    fb = forward_backward_sweep("mean", RATIOS, base=PrecisionCase())
    x32 = torch.tensor(draw_case(PrecisionCase(mean=1e4))["x"]).float()
    raw_var = (x32 * x32).mean(dim=(0, 2)) - x32.mean(dim=(0, 2)) ** 2  # one-pass, before clamping
    return var_rec, fb, raw_var


def _one(records, **match):
    (found,) = [r for r in records if all(r[k] == v for k, v in match.items())]
    return found


def test_fields_match_the_records_and_the_formats_by_hand(sweeps):
    var_rec, fb, raw_var = sweeps
    s = summarize_precision(var_rec, fb, raw_var)
    # Unit roundoffs 2^-p from the significand bits p: 11 (float16), 8 (bfloat16), 24, 53.
    assert dict(s.u) == {"float16": 2.0**-11, "bfloat16": 2.0**-8, "float32": 2.0**-24, "float64": 2.0**-53}
    assert s.u_bfloat16_pct == 100 / 256
    f32 = _one(var_rec, dtype="float32", mean=1e3)
    assert s.onepass32_1e3 == 100 * f32["one-pass"] and s.chan32_1e3 == f32["chan"]
    assert s.m == 64 * 64
    assert s.fb_torch32_1e3 == _one(fb, dtype="float32", impl="torch", mean=1e3)["y"]
    assert s.fb_torch16_1_dx == _one(fb, dtype="float16", impl="torch", mean=1.0)["dx"]
    assert s.fb_storagebf16_1e3 == _one(fb, dtype="bfloat16", impl="storage only", mean=1e3)["y"]
    assert s.n_negative == sum(1 for v in raw_var.tolist() if v < 0)


def test_the_storage_error_recomputed_by_hand(sweeps):
    # Store x, gamma, beta in bfloat16, normalize in float64 by the formula written out here, and
    # take the max-norm error against the unrounded data. Both sides are float64 computations of
    # 16384 values per channel on the same rounded inputs: they agree to ~1e-12 relative.
    data = draw_case(PrecisionCase(mean=1e3))

    def bn64(x, gamma, beta):
        mu = x.mean(axis=(0, 2), keepdims=True)
        var = ((x - mu) ** 2).mean(axis=(0, 2), keepdims=True)
        return gamma[None, :, None] * (x - mu) / np.sqrt(var + 1e-5) + beta[None, :, None]

    def stored(a):
        return torch.tensor(a).to(torch.bfloat16).to(torch.float64).numpy()

    exact = bn64(data["x"], data["gamma"], data["beta"])
    rounded = bn64(stored(data["x"]), stored(data["gamma"]), stored(data["beta"]))
    by_hand = np.abs(rounded - exact).max() / np.abs(exact).max()
    assert summarize_precision(*sweeps).fb_storagebf16_1e3 == pytest.approx(by_hand, rel=1e-9)


def test_the_variance_of_one_channel_by_hand(sweeps):
    # At mean/std 1e3, E[x^2] and E[x]^2 are near 1e6, where float32 numbers are 2^-4 apart:
    # their difference, the one-pass variance, carries errors of the size of the variance itself
    # (about 1, recomputed here with exactly rounded sums), hence "off by ... %" above 100.
    x = draw_case(PrecisionCase(mean=1e3))["x"].astype(np.float32).astype(np.float64)
    exact = [math.fsum((v - math.fsum(c) / len(c)) ** 2 for v in c) / len(c)
             for c in (x[:, j, :].ravel().tolist() for j in range(4))]
    assert all(0.9 < v < 1.1 for v in exact)
    assert np.spacing(np.float32(1e6)) == 2.0**-4
    assert summarize_precision(*sweeps).onepass32_1e3 > 100


def test_every_claim_of_the_chapter_holds(sweeps):
    # Protects the sentences on the variance figure ("off by ... %", "two-pass, Welford and Chan
    # stay at ...", the float16 picture) and on the forward/backward figure (PyTorch's float16 and
    # bfloat16 errors "about one unit of rounding", "torch < book < one-pass" in float32 at 1e3,
    # one-pass "off by ..." at 1e4, the negative one-pass variances).
    assert unmet_claims(*sweeps) == []


def test_swapped_implementations_break_a_claim(sweeps):
    # The book's and PyTorch's errors swapped: "torch < book" and "book 1 to 4 times torch's" fail.
    var_rec, fb, raw_var = sweeps
    swap = {"torch": "book", "book": "torch"}
    swapped = [{**r, "impl": swap.get(r["impl"], r["impl"])} for r in fb]
    unmet = unmet_claims(var_rec, swapped, raw_var)
    assert "float32 at mean/std 1e3: torch < book < one-pass / 10" in unmet
    assert any("book 1 to 4 times" in c for c in unmet)


def test_swapped_dtypes_break_a_claim(sweeps):
    # float16 and float32 variance records swapped: the float32 claims fail.
    var_rec, fb, raw_var = sweeps
    swap = {"float16": "float32", "float32": "float16"}
    swapped = [{**r, "dtype": swap[r["dtype"]]} for r in var_rec]
    assert "float32 at mean/std 1e3: two-pass, Welford and Chan below 1e-4" in unmet_claims(swapped, fb, raw_var)


def test_a_clamped_variance_is_not_counted_negative(sweeps):
    var_rec, fb, raw_var = sweeps
    clamped = raw_var.clamp(min=0)
    assert summarize_precision(var_rec, fb, clamped).n_negative == 0
    assert "one-pass float32 variance negative in at least 2 channels at 1e4" in unmet_claims(var_rec, fb, clamped)
