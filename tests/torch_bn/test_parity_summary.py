"""The agreement chapter's summary of the committed parity result, and the function it gradchecks."""

import copy
import json

import pytest
import torch

from bn.results import load_result, results_dir
from bn.torch_bn import book_batch_norm, parity

U64, U32 = 2.0**-53, 2.0**-24


@pytest.fixture(scope="module")
def raw():
    # The committed result, read as plain JSON (not through bn.results).
    return json.loads((results_dir() / "parity_cpu.json").read_text())


def test_fields_match_the_raw_result_by_hand(raw):
    s = parity.summarize(load_result("parity_cpu"))
    names = []
    for row in raw["checks"]:
        if row["check"] not in names:
            names.append(row["check"])
    assert s.n_checks == len(names) == len(raw["checks"]) // 2  # one row per check and dtype
    f64 = sorted((r for r in raw["checks"] if r["dtype"] == "float64"), key=lambda r: -r["max_rel_error"])
    f32 = sorted((r for r in raw["checks"] if r["dtype"] == "float32"), key=lambda r: -r["max_rel_error"])
    assert s.max_f64 == f64[0]["max_rel_error"] and s.max_f32 == f32[0]["max_rel_error"]
    assert (str(s.worst_f64), str(s.worst_f32)) == (f64[0]["description"], f32[0]["description"])
    assert s.dbeta_f64 == max(r["max_rel_error"] for r in f64 if "dbeta" in r["check"])
    # Tolerance over error: both exact float64 inputs, one division (rel. error u).
    assert s.margin_f64 == pytest.approx(1e-12 / f64[0]["max_rel_error"], rel=4 * U64)
    assert s.cpu_torch == raw["provenance"]["libraries"]["torch"]


def test_bounds_from_the_cases_by_hand():
    s = parity.summarize(load_result("parity_cpu"))
    # Channels: (64, 7) holds 64 values, (16, 8, 5, 5) 400, (4, 3, 3, 4, 5) 240.
    assert s.m_max == 400
    assert s.f64_worst_margin == pytest.approx(1e-12 / (400 * U64), rel=4 * U64)
    assert s.f32_typical_margin == pytest.approx(1e-5 / (20 * U32), rel=4 * U64)
    assert s.f32_worst == pytest.approx(400 * U32, rel=U64)


def test_the_largest_errors_are_dgamma_errors():
    # Protects "Both are errors of dL/dgamma" (the largest float64 and float32 errors).
    worst = parity.worst_checks(load_result("parity_cpu"))
    assert all("dgamma" in w["check"] for w in worst.values()), {dt: w["check"] for dt, w in worst.items()}


def test_all_checks_pass_with_the_stated_margin():
    # Protects "All ... checks pass in both precisions ... a factor ... below the tolerance".
    result = load_result("parity_cpu")
    s = parity.summarize(result)
    assert result["all_passed"] and all(r["passed"] for r in result["checks"])
    assert s.margin_f64 > 1 and s.max_f32 < 1e-5


def test_a_failed_check_would_show(raw):
    # A result with one float64 check outside its tolerance: the summary's largest error is that
    # one, and the margin the prose states falls below 1.
    doctored = copy.deepcopy(raw)
    row = next(r for r in doctored["checks"] if r["dtype"] == "float64" and r["check"] == "numpy_dx")
    row.update(max_rel_error=3e-12, passed=False)
    s = parity.summarize(doctored)
    assert s.max_f64 == 3e-12 and s.margin_f64 < 1 and str(s.worst_f64) == row["description"]


def test_autograd_target_is_the_book_function_at_eps_1e3():
    gen = torch.Generator().manual_seed(0)
    x = 2 * torch.randn(6, 3, 2, 2, dtype=torch.float64, generator=gen) + 1
    g, b = torch.randn(3, dtype=torch.float64, generator=gen), torch.randn(3, dtype=torch.float64, generator=gen)
    assert parity.AUTOGRAD_EPS == 1e-3
    assert torch.equal(parity.autograd_target(x, g, b), book_batch_norm(x, g, b, 1e-3))
    # The eps matters: at the default 1e-5 the outputs differ (variances here are about 4).
    assert not torch.equal(parity.autograd_target(x, g, b), book_batch_norm(x, g, b))
