"""Error measurement: the float64 reference is itself accurate, and the measured errors scale with the dtype."""

import mpmath
import numpy as np
import pytest

from bn import functional as bnf
from bn.precision.errors import PrecisionCase, forward_backward_error, storage_error
from bn.precision.sweep import variance_sweep
from bn.precision.errors import draw_case


def test_float64_reference_agrees_with_mpmath_at_50_digits():
    # The chapter's reference is bn.functional in float64. Check one channel at mean/std 1e3
    # (the hardest case plotted but one) against 50-digit arithmetic: its error must be far
    # below the float32 errors it is used to measure (>= 1e-7).
    case = PrecisionCase(n=8, channels=1, length=8, mean=1e3, seed=3)
    d = draw_case(case)
    y, _ = bnf.batch_norm_forward(d["x"], d["gamma"], d["beta"], eps=case.eps)
    mpmath.mp.dps = 50
    xs = [mpmath.mpf(float(v)) for v in d["x"].ravel()]
    mu = mpmath.fsum(xs) / len(xs)
    var = mpmath.fsum((v - mu) ** 2 for v in xs) / len(xs)
    g, b = mpmath.mpf(float(d["gamma"][0])), mpmath.mpf(float(d["beta"][0]))
    exact = np.array([float(g * (v - mu) / mpmath.sqrt(var + mpmath.mpf(case.eps)) + b) for v in xs])
    err = np.abs(y.ravel() - exact).max() / np.abs(exact).max()
    assert err < 1e-11  # u64 * mean/std = 1.1e-13; 1e-11 allows the m-term sums


@pytest.mark.parametrize("impl", ["torch", "book"])
def test_errors_scale_with_unit_roundoff(impl, device):
    case = PrecisionCase(n=16, length=16)
    errs = {dt: forward_backward_error(case, dt, impl, device) for dt in ("float16", "bfloat16", "float32")}
    # Unit roundoffs 4.9e-4, 3.9e-3, 6.0e-8: errors lie within a small multiple of u and above u/100.
    for dt, u in (("float16", 4.9e-4), ("bfloat16", 3.9e-3), ("float32", 6.0e-8)):
        for key in ("y", "dx"):
            assert u / 100 < errs[dt][key] < 20 * u, (dt, key, errs[dt][key])


def test_one_pass_forward_breaks_at_large_mean_in_float32(device):
    case = PrecisionCase(n=16, length=16, mean=1e4)
    assert forward_backward_error(case, "float32", "one-pass", device)["y"] > 1e-2
    assert forward_backward_error(case, "float32", "torch", device)["y"] < 1e-2


def test_storage_error_reflects_quantization():
    assert storage_error(PrecisionCase(n=8, length=8), "float32") < 1e-6
    # bfloat16 has 8 significant bits: at mean/std 1e3 the stored values keep
    # almost nothing of a unit spread.
    assert storage_error(PrecisionCase(n=8, length=8, mean=1e3), "bfloat16") > 0.1


def test_unknown_implementation_is_rejected():
    with pytest.raises(ValueError, match="unknown implementation"):
        forward_backward_error(PrecisionCase(n=4, length=4), "float32", "magic")


def test_variance_sweep_records():
    rec = variance_sweep("mean", [0.0, 1e3], dtypes=("float32",), base=PrecisionCase(n=8, length=8))
    assert [r["mean"] for r in rec] == [0.0, 1e3]
    assert set(rec[0]) >= {"one-pass", "two-pass", "welford", "chan", "dtype", "m"}
