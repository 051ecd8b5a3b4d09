"""Read a speed result file: the ratios the chapter reports against its goals."""

from __future__ import annotations

__all__ = ["GOALS", "fwd_bwd_ratios", "bandwidth_fractions", "staged_over_compact", "goal_summary"]

# The goals: NumPy fwd+bwd within 1.5x of torch on the CPU, effective
# bandwidth >= 50 % of a copy, folding >= 1.2x faster in eval mode.
GOALS = {"numpy_over_torch_max": 1.5, "bandwidth_fraction_min": 0.5, "folding_speedup_min": 1.2}


def _by(records: list[dict], **match) -> list[dict]:
    return [r for r in records if all(r.get(k) == v for k, v in match.items())]


def _one(records: list[dict], **match) -> dict:
    found = _by(records, **match)
    if len(found) != 1:
        raise KeyError(f"expected one record matching {match}, found {len(found)}")
    return found[0]


def fwd_bwd_ratios(result: dict) -> list[dict]:
    """Per size: NumPy fwd+bwd time over torch native (same thread count, 1, and torch's default)."""
    rows = []
    default = result["torch_threads"]
    for elements in result["config"]["elements"]:
        numpy_t = _one(result["fwd_bwd"], impl="numpy", elements=elements)["median_s"]
        torch_1 = _one(result["fwd_bwd"], impl="torch_native", elements=elements, threads=1)["median_s"]
        torch_d = _one(result["fwd_bwd"], impl="torch_native", elements=elements, threads=default)["median_s"]
        book = _one(result["fwd_bwd"], impl="book_function", elements=elements)["median_s"]
        rows.append({"elements": elements, "numpy_s": numpy_t, "torch_1thread_s": torch_1,
                     "torch_default_s": torch_d, "book_function_s": book,
                     "numpy_over_torch_1thread": numpy_t / torch_1, "numpy_over_torch_default": numpy_t / torch_d})
    return rows


def bandwidth_fractions(result: dict) -> list[dict]:
    """Per size and implementation: effective GB/s and its fraction of the copy bandwidth at that size."""
    rows = []
    for rec in result["fwd_bwd"]:
        copy = _one(result["copy"], elements=rec["elements"])
        rows.append({"elements": rec["elements"], "impl": rec["impl"], "threads": rec.get("threads"),
                     "gb_s": rec["gb_s"], "copy_gb_s": copy["gb_s"], "fraction_of_copy": rec["gb_s"] / copy["gb_s"]})
    return rows


def staged_over_compact(result: dict) -> list[dict]:
    """Per size: staged NumPy backward time over the compact one."""
    rows = []
    for elements in result["config"]["elements"]:
        staged = _one(result["numpy_backward"], impl="staged", elements=elements)["median_s"]
        compact = _one(result["numpy_backward"], impl="compact", elements=elements)["median_s"]
        rows.append({"elements": elements, "staged_s": staged, "compact_s": compact, "ratio": staged / compact})
    return rows


def goal_summary(result: dict) -> dict:
    """The three goals at the largest size measured: value reached and whether the goal is met.

    Goals are judged with torch's default thread count ("torch CPU" as a user runs it); the
    one-thread ratios are returned alongside for comparison.
    """
    largest = max(result["config"]["elements"])
    ratio = [r for r in fwd_bwd_ratios(result) if r["elements"] == largest][0]
    frac = {(r["impl"], r["threads"]): r["fraction_of_copy"] for r in bandwidth_fractions(result)
            if r["elements"] == largest}
    default = result["torch_threads"]
    speedups = {f["kernel"]: f["speedup"] for f in result["folding"] if f.get("threads", default) == default}
    speedups_1 = {f["kernel"]: f["speedup"] for f in result["folding"] if f.get("threads") == 1}
    return {
        "elements": largest,
        "numpy_over_torch_default": ratio["numpy_over_torch_default"],
        "numpy_over_torch_1thread": ratio["numpy_over_torch_1thread"],
        "numpy_ratio_goal_met": ratio["numpy_over_torch_default"] <= GOALS["numpy_over_torch_max"],
        "numpy_fraction_of_copy": frac[("numpy", 1)],
        "numpy_bandwidth_goal_met": frac[("numpy", 1)] >= GOALS["bandwidth_fraction_min"],
        "torch_fraction_of_copy": frac[("torch_native", result["torch_threads"])],
        "folding_speedups": speedups,
        "folding_goal_met": {k: v >= GOALS["folding_speedup_min"] for k, v in speedups.items()},
        "folding_speedups_1thread": speedups_1,
    }
