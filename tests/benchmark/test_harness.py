"""The timing harness and the report arithmetic, on tiny sizes and a fake clock (no timings asserted)."""

import itertools
import json
from pathlib import Path

import pytest
import torch

from bn.benchmark import harness, report, workloads
from bn.benchmark.run import QUICK_CONFIG, run_benchmark


def test_time_callable_warms_up_then_times_each_repeat():
    calls = []
    ticks = itertools.count()  # the fake clock advances 1 per reading
    t = harness.time_callable(lambda: calls.append(1), repeats=5, warmup=3, clock=lambda: float(next(ticks)))
    assert len(calls) == 8  # 3 warm-up + 5 timed
    assert (t.median_s, t.min_s, t.max_s, t.repeats, t.warmup) == (1.0, 1.0, 1.0, 5, 3)


def test_summary_uses_median_and_quartiles():
    t = harness.summarize([5.0, 1.0, 2.0, 3.0, 100.0], warmup=0)
    assert t.median_s == 3.0  # the 100 s outlier does not move the median
    assert (t.q25_s, t.q75_s, t.min_s, t.max_s) == (2.0, 5.0, 1.0, 100.0)
    assert t.relative_iqr == pytest.approx(1.0)


def test_sync_is_called_before_every_clock_reading():
    events = []
    ticks = itertools.count()
    harness.time_callable(lambda: events.append("run"), repeats=2, warmup=1,
                          sync=lambda: events.append("sync"), clock=lambda: float(next(ticks)))
    assert events == ["run", "sync", "run", "sync", "run", "sync"]


@pytest.mark.parametrize("repeats,warmup", [(0, 1), (3, -1)])
def test_rejects_bad_counts(repeats, warmup):
    with pytest.raises(ValueError):
        harness.time_callable(lambda: None, repeats=repeats, warmup=warmup)


def test_nchw_shape():
    assert workloads.nchw_shape(1 << 20) == (16, 64, 32, 32)
    with pytest.raises(ValueError):
        workloads.nchw_shape(1000)


def test_bandwidth_counts_bytes_moved():
    rec = workloads.copy_bandwidth(1 << 10, repeats=2, warmup=1)
    assert rec["bytes"] == 4096
    assert rec["gb_s"] == pytest.approx(2 * 4096 / rec["median_s"] / 1e9)


@pytest.fixture(scope="module")
def quick_result():
    return run_benchmark("cpu", QUICK_CONFIG, progress=lambda s: None)


def test_quick_run_has_every_workload(quick_result):
    impls = {r["impl"] for r in quick_result["fwd_bwd"]}
    assert impls == {"numpy", "numpy_fused", "torch_native", "torch_autograd", "book_function"}
    assert {r["impl"] for r in quick_result["numpy_backward"]} == {"compact", "staged"}
    assert quick_result["folding"][0]["max_rel_difference"] < 1e-5  # float32, same function
    assert set(quick_result["load_average_1min"]) == {"start", "end"}


def test_report_ratios_are_consistent(quick_result):
    (row,) = report.fwd_bwd_ratios(quick_result)
    assert row["numpy_over_torch_1thread"] == pytest.approx(row["numpy_s"] / row["torch_1thread_s"])
    summary = report.goal_summary(quick_result)
    assert summary["numpy_ratio_goal_met"] == (summary["numpy_over_torch_default"] <= 1.5)
    for r in report.bandwidth_fractions(quick_result):
        assert r["fraction_of_copy"] == pytest.approx(r["gb_s"] / r["copy_gb_s"])
    (staged,) = report.staged_over_compact(quick_result)
    assert staged["ratio"] == pytest.approx(staged["staged_s"] / staged["compact_s"])


def test_report_reads_a_hand_made_result():
    # Numbers chosen by hand to check the arithmetic only (not a measurement).
    res = {"torch_threads": 2, "config": {"elements": [10]},
           "fwd_bwd": [{"impl": "numpy", "elements": 10, "threads": 1, "median_s": 3.0, "gb_s": 1.0},
                       {"impl": "torch_native", "elements": 10, "threads": 1, "median_s": 2.0, "gb_s": 1.5},
                       {"impl": "torch_native", "elements": 10, "threads": 2, "median_s": 1.0, "gb_s": 3.0},
                       {"impl": "book_function", "elements": 10, "threads": 2, "median_s": 4.0, "gb_s": 0.7}],
           "copy": [{"elements": 10, "gb_s": 4.0}],
           "folding": [{"kernel": 1, "speedup": 1.3, "threads": 2}, {"kernel": 3, "speedup": 1.1, "threads": 2},
                       {"kernel": 1, "speedup": 0.9, "threads": 1}]}
    s = report.goal_summary(res)
    assert s["numpy_over_torch_default"] == 3.0 and not s["numpy_ratio_goal_met"]
    assert s["numpy_over_torch_1thread"] == 1.5
    assert s["numpy_fraction_of_copy"] == 0.25 and not s["numpy_bandwidth_goal_met"]
    assert s["folding_goal_met"] == {1: True, 3: False}
    assert s["folding_speedups_1thread"] == {1: 0.9}


def test_cli_refuses_quick_run_into_book_results(tmp_path):
    from bn.benchmark.__main__ import main
    from bn.cli import UsageError
    with pytest.raises(UsageError, match="not results"):
        main(["--quick", "--out", str(tmp_path / "book" / "results" / "speed_cpu.json")])


@pytest.mark.parametrize("argv", [["--quick", "--out", "book/results/speed_cpu.json"],
                                  ["--out", "x.json", "--device", "cuda:7"] if not torch.cuda.is_available()
                                  else ["--no-such-flag"],
                                  []])
def test_cli_user_errors_are_one_line_and_exit_2(argv):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "bn.benchmark", *argv], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_cli_writes_provenance(tmp_path):
    from bn.benchmark.__main__ import main
    out = tmp_path / "speed.json"
    main(["--quick", "--out", str(out)])
    data = json.loads(out.read_text())
    assert data["quick"] is True
    assert "device" in data["provenance"] and "load_average_1min" in data["provenance"]


def test_time_interleaved_alternates_and_summarizes_each():
    order = []
    ticks = itertools.count()
    out = harness.time_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                                   repeats=3, warmup=1, clock=lambda: float(next(ticks)))
    assert order == ["a", "b"] * 4  # 1 warm-up round + 3 timed rounds, alternating
    assert set(out) == {"a", "b"} and out["a"].repeats == 3 and out["b"].median_s == 1.0
