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


def test_parity_table_has_one_row_per_check_and_flags_a_failed_dtype():
    import copy
    import json

    from bn.results import results_dir
    from bn.torch_bn.parity import parity_table

    raw = json.loads((results_dir() / "parity_cpu.json").read_text())
    table = parity_table(raw)
    checks = list(dict.fromkeys(r["check"] for r in raw["checks"]))
    assert len(table.rows) == len(checks) and all(row[3] == "yes" for row in table.rows)
    # one dtype of one check out of tolerance: that row, and only it, says NO
    broken = copy.deepcopy(raw)
    first = next(r for r in broken["checks"] if r["check"] == checks[0] and r["dtype"] == "float32")
    first["passed"] = False
    assert [row[3] for row in parity_table(broken).rows] == ["NO"] + ["yes"] * (len(checks) - 1)


def test_the_error_figure_places_each_check_at_its_errors():
    import json

    import matplotlib.pyplot as plt

    from bn.gradcheck.tolerances import PARITY_TOLERANCES
    from bn.plotting.parity import FLOOR, parity_error_figure
    from bn.results import results_dir
    from bn.torch_bn.parity import by_check

    checks = by_check(json.loads((results_dir() / "parity_cpu.json").read_text()))
    fig = parity_error_figure(checks, PARITY_TOLERANCES)
    ax = fig.axes[0]
    f64, f32 = (c.get_offsets() for c in ax.collections)
    names = list(checks)
    # row i is check i; an exact agreement sits at the floor, not at 0 (a log axis)
    assert [float(x) for x in f64[:, 0]] == [max(checks[n]["float64"]["max_rel_error"], FLOOR) for n in names]
    assert [float(x) for x in f32[:, 1]] == list(range(len(names)))
    assert [t.get_text() for t in ax.get_yticklabels()] == [checks[n]["description"] for n in names]
    plt.close(fig)
