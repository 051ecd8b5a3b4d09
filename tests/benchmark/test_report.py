"""Speed-report arithmetic on hand-made records (numbers chosen to check the arithmetic only)."""

import pytest

from bn.benchmark import report


def _rec(impl, threads, q25, med, q75, elements=10):
    return {"impl": impl, "threads": threads, "elements": elements,
            "q25_s": q25, "median_s": med, "q75_s": q75}


def test_ratio_interval_uses_opposite_quartiles_and_flags_noise():
    res = {"fwd_bwd": [_rec("a", 1, 0.9, 1.0, 1.2), _rec("b", 1, 1.8, 2.0, 2.4),
                       _rec("c", 1, 0.8, 2.1, 3.0)]}
    r = report.ratio_interval(res, ("a", 1), ("b", 1), 10)
    assert r["ratio"] == 0.5 and r["low"] == 0.9 / 2.4 and r["high"] == 1.2 / 1.8
    assert not r["noise"]
    # c's spread covers a's time: the ratio's interval contains 1.
    assert report.ratio_interval(res, ("a", 1), ("c", 1), 10)["noise"]


def test_goal_table_shows_a_near_miss_below_the_target():
    fold = {"conv_bn": {}, "folded": {}, "max_rel_difference": 0.0}
    res = {"torch_threads": 2, "config": {"elements": [10]},
           "fwd_bwd": [_rec("numpy", 1, 2.9, 3.0, 3.1), _rec("numpy_fused", 1, 1.9, 2.0, 2.1),
                       _rec("torch_native", 1, 1.9, 2.0, 2.1), _rec("torch_native", 2, 0.9, 1.0, 1.1),
                       _rec("book_function", 2, 3.9, 4.0, 4.1)],
           "copy": [{"elements": 10, "gb_s": 4.0}],
           "folding": [{**fold, "kernel": 1, "speedup": 1.1997, "threads": 2, "config": "1x1"},
                       {**fold, "kernel": 1, "speedup": 1.0, "threads": 1, "config": "1x1"}]}
    for r in res["fwd_bwd"]:
        r["gb_s"] = 1.0
    rows = report.goal_table(res).rows
    (fold_row,) = [r for r in rows if r[0].startswith("folding")]
    assert fold_row[2:] == ["1.1997", "not met"]
    fused = [r for r in rows if r[0].startswith("fewer-pass")][0]
    assert fused[2] == "1.00"
    with pytest.raises(KeyError):
        report.ratio_interval(res, ("missing", 1), ("numpy", 1), 10)


@pytest.mark.parametrize("value, target, at_least, text", [
    (1.197, 1.2, True, "1.197"), (1.234, 1.2, True, "1.23"), (1.2, 1.2, True, "1.20"),
    (1.5004, 1.5, False, "1.5004"), (1.4996, 1.5, False, "1.50"), (3.63, 1.5, False, "3.63")])
def test_shown_value_agrees_with_the_verdict(value, target, at_least, text):
    assert report.shown_against(value, target, at_least) == text


def _speed_result():
    fold = {"conv_bn": {}, "folded": {}, "max_rel_difference": 0.0}
    fwd = []
    for e in (10, 20):
        fwd += [_rec("numpy", 1, 2.9, 3.0, 3.1, e), _rec("numpy_fused", 1, 1.9, 2.0, 2.1, e),
                _rec("torch_native", 1, 1.9, 2.0, 2.1, e), _rec("torch_native", 2, 0.9, 1.0, 1.1, e),
                _rec("book_function", 2, 3.9, 4.0, 4.1, e)]
    for r in fwd:
        r["gb_s"] = 1.0
    return {"torch_threads": 2, "niceness": 0, "config": {"elements": [10, 20], "repeats": 7},
            "provenance": {"device": {"cpu_count": 2}}, "load_average_1min": {"start": 0.5, "end": 1.5},
            "fwd_bwd": fwd, "copy": [{"elements": 10, "gb_s": 4.0}, {"elements": 20, "gb_s": 8.0}],
            "numpy_backward": [{"impl": i, "elements": e, "median_s": m * e}
                               for e in (10, 20) for i, m in (("staged", 3.0), ("compact", 2.0))],
            "folding": [{**fold, "kernel": k, "speedup": s, "threads": t, "config": f"{k}x{k}"}
                        for k in (1, 3) for t, s in ((2, 1.1997 if k == 1 else 1.5), (1, 1.0))]}


def test_summarize_gives_every_number_at_the_largest_size():
    from bn.benchmark.array_passes import PassSummary

    passes = PassSummary(passes_readable=40, passes_fused=20, vecdot_reads=4, passes_compact_bwd=14)
    s = report.summarize(_speed_result(), passes)
    assert (s.cpu_count, s.torch_threads, s.repeats, s.load_start, s.load_end) == (2, 2, 7, 0.5, 1.5)
    assert s.readable_over_torch1 == 1.5 and s.fused_over_readable == 2.0 / 3.0
    assert s.readable_over_torch1_noise == "outside the noise of this run"
    assert s.thread_min == s.thread_max == 2.0 and s.thread_faster == "faster at every size" and s.thread_noise == ""
    # 1.1997 must not print as 1.20 beside "not met"
    assert (s.fold1, s.verdict_fold1, s.fold3, s.verdict_fold3) == ("1.1997", "not met", "1.50", "met")
    assert s.staged_ratio == 1.5 and s.copy_gb_s == 8.0
    # 14 passes of 20 four-byte elements at 8 GB/s; measured: the compact backward's median at 20
    assert s.bwd_traffic_gb == 14 * 4 * 20 / 1e9
    assert s.bwd_predicted_ms == 1e3 * 14 * 4 * 20 / 8e9 and s.bwd_measured_ms == 1e3 * 40.0
    assert s.passes is passes  # glued with the rest, under speed_ (one glue call in the chapter)
