"""Read a speed result file: the ratios the chapter reports against its goals."""

from __future__ import annotations

from dataclasses import dataclass, field

from bn.benchmark.array_passes import PassSummary
from bn.formatting import Table
from bn.glue import Md

__all__ = ["GOALS", "SpeedSummary", "summarize", "fwd_bwd_ratios", "bandwidth_fractions", "staged_over_compact", "goal_summary",
           "ratio_interval", "thread_speedups", "fused_summary", "machine_table", "fwd_bwd_table",
           "goal_table", "staged_table", "folding_table", "shown_against"]

# Targets the speed chapter holds the NumPy code to: fwd+bwd within 1.5x of torch on the
# CPU, effective bandwidth >= 50 % of a copy, folding >= 1.2x faster in eval mode.
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


def ratio_interval(result: dict, a: tuple[str, int], b: tuple[str, int], elements: int) -> dict:
    """Median time of ``a`` over that of ``b`` (each ``(impl, threads)``), with a quartile interval.

    The interval runs from ``q25_a / q75_b`` to ``q75_a / q25_b``: the ratio of a fast
    run of one to a slow run of the other. When it contains 1 the two are not told
    apart by this run (``noise`` is true): the spread is as large as the difference.
    """
    ra = _one(result["fwd_bwd"], impl=a[0], threads=a[1], elements=elements)
    rb = _one(result["fwd_bwd"], impl=b[0], threads=b[1], elements=elements)
    low, high = ra["q25_s"] / rb["q75_s"], ra["q75_s"] / rb["q25_s"]
    return {"ratio": ra["median_s"] / rb["median_s"], "low": low, "high": high,
            "noise": low <= 1.0 <= high}


def thread_speedups(result: dict) -> list[dict]:
    """Per size: torch native on 1 thread over torch on its default count (above 1: faster)."""
    default = result["torch_threads"]
    return [{"elements": e, **ratio_interval(result, ("torch_native", 1), ("torch_native", default), e)}
            for e in result["config"]["elements"]]


def fused_summary(result: dict) -> dict:
    """At the largest size: the readable and the fewer-pass NumPy code against torch on 1 thread."""
    largest = max(result["config"]["elements"])
    torch_1 = ("torch_native", 1)
    return {"elements": largest,
            "readable_over_torch1": ratio_interval(result, ("numpy", 1), torch_1, largest),
            "fused_over_torch1": ratio_interval(result, ("numpy_fused", 1), torch_1, largest),
            "fused_over_readable": ratio_interval(result, ("numpy_fused", 1), ("numpy", 1), largest)}


def _size(elements: int) -> str:
    return f"{elements / 2**20:.0f}M"


def machine_table(result: dict) -> Table:
    """The machine and the run of a speed result, as a table."""
    prov = result["provenance"]
    load = result["load_average_1min"]
    cfg = result["config"]
    return Table(["", ""], [
        ["CPU", prov["device"]["cpu_model"]],
        ["logical CPUs", prov["device"]["cpu_count"]],
        ["torch threads (default)", result["torch_threads"]],
        ["NumPy / torch", f'{prov["libraries"]["numpy"]} / {prov["libraries"]["torch"]}'],
        ["1-minute load average, start / end", f'{load["start"]:.1f} / {load["end"]:.1f}'],
        ["run took", f'{result["wall_time_s"]:.0f} s'],
        ["measured (UTC)", prov["created_utc"]],
        ["repeats per measurement (after warm-up)", f'{cfg["repeats"]} (+{cfg["warmup"]})'],
    ])


def fwd_bwd_table(result: dict) -> Table:
    """Every forward+backward timing and copy: median, spread, bandwidth."""
    copy = {c["elements"]: c for c in result["copy"]}
    rows = []
    for r in result["fwd_bwd"]:
        rows.append([_size(r["elements"]), r["impl"], r["threads"], f'{1e3 * r["median_s"]:.1f}',
                     f'{100 * r["relative_iqr"]:.0f} %', f'{r["gb_s"]:.2f}',
                     f'{100 * r["gb_s"] / copy[r["elements"]]["gb_s"]:.0f} %'])
    for c in result["copy"]:
        rows.append([_size(c["elements"]), "copy (np.copyto)", 1, f'{1e3 * c["median_s"]:.1f}',
                     f'{100 * c["relative_iqr"]:.0f} %', f'{c["gb_s"]:.2f}', "100 %"])
    return Table(["elements", "implementation", "threads", "median (ms)", "IQR / median",
                  "effective GB/s", "of copy bandwidth"], rows)


def _verdict(ok: bool) -> str:
    return "met" if ok else "not met"


def shown_against(value: float, target: float, at_least: bool) -> str:
    """``value`` with as few decimals (from 2) as keep the shown number on its side of ``target``.

    1.197 against a target of at least 1.2 prints as "1.197", not as "1.20", which
    would read as met; 1.234 prints as "1.23".
    """
    met = value >= target if at_least else value <= target
    for decimals in range(2, 8):
        text = f"{value:.{decimals}f}"
        shown = float(text)
        if (shown >= target if at_least else shown <= target) == met:
            return text
    return repr(value)


def goal_table(result: dict) -> Table:
    """Each target, the value reached at the largest size, the verdict.

    Verdict values are printed by :func:`shown_against`, so that a value just below
    a target (1.197 against 1.2) does not print as the target itself.
    """
    goals = goal_summary(result)
    fused = fused_summary(result)
    default = result["torch_threads"]
    fold = {f["kernel"]: f for f in result["folding"] if f["threads"] == default}
    rows = [
        ["readable NumPy / torch, default threads", f'≤ {GOALS["numpy_over_torch_max"]}',
         shown_against(goals["numpy_over_torch_default"], GOALS["numpy_over_torch_max"], False),
         _verdict(goals["numpy_ratio_goal_met"])],
        ["readable NumPy / torch, 1 thread each", "(reference)",
         f'{goals["numpy_over_torch_1thread"]:.2f}', ""],
        ["fewer-pass NumPy / torch, 1 thread each", "(reference)",
         f'{fused["fused_over_torch1"]["ratio"]:.2f}', ""],
        ["readable NumPy bandwidth / copy", f'≥ {GOALS["bandwidth_fraction_min"]:.0%}',
         f'{goals["numpy_fraction_of_copy"]:.1%}', _verdict(goals["numpy_bandwidth_goal_met"])],
        ["torch bandwidth / copy, default threads", "(reference)",
         f'{goals["torch_fraction_of_copy"]:.1%}', ""],
    ]
    for k in sorted(fold):
        rows.append([f'folding speedup, {fold[k]["config"]}', f'≥ {GOALS["folding_speedup_min"]}',
                     shown_against(fold[k]["speedup"], GOALS["folding_speedup_min"], True), _verdict(goals["folding_goal_met"][k])])
    for k in sorted(goals["folding_speedups_1thread"]):
        rows.append([f"same, {k}x{k}, torch on 1 thread", "(reference)",
                     f'{goals["folding_speedups_1thread"][k]:.2f}', ""])
    return Table(["target", "goal", "reached", ""], rows)


def staged_table(result: dict) -> Table:
    """Staged against compact NumPy backward per size."""
    return Table(["elements", "staged (ms)", "compact (ms)", "staged / compact"], [
        [_size(r["elements"]), f'{1e3 * r["staged_s"]:.1f}', f'{1e3 * r["compact_s"]:.1f}',
         f'{r["ratio"]:.2f}'] for r in staged_over_compact(result)])


def folding_table(result: dict) -> Table:
    """Eval-mode conv + BN against the folded conv, with spreads."""
    rows = []
    for f in result["folding"]:
        rows.append([f["config"], f["threads"], f'{1e3 * f["conv_bn"]["median_s"]:.2f}',
                     f'{100 * f["conv_bn"]["relative_iqr"]:.0f} %',
                     f'{1e3 * f["folded"]["median_s"]:.2f}', f'{100 * f["folded"]["relative_iqr"]:.0f} %',
                     f'{f["speedup"]:.3f}', f'{f["max_rel_difference"]:.0e}'])
    return Table(["configuration", "threads", "conv + BN (ms)", "IQR / median", "folded (ms)",
                  "IQR / median", "speedup", "outputs agree to"], rows)


@dataclass(frozen=True)
class SpeedSummary:
    """Every number the speed chapter states about a speed result, under the name it is glued by
    (``speed_`` + field; the NumPy codes' pass counts ``passes`` under ``speed_`` too). Ratios are
    medians; ``*_low``/``*_high`` the quartile interval of :func:`ratio_interval`; ``*_noise``
    says whether that interval contains 1."""

    cpu_count: int
    load_start: float
    load_end: float
    torch_threads: int
    niceness: int
    repeats: int
    readable_over_torch1: float
    readable_over_torch1_low: float
    readable_over_torch1_high: float
    readable_over_torch1_noise: Md
    fused_over_torch1: float
    fused_over_torch1_low: float
    fused_over_torch1_high: float
    fused_over_torch1_noise: Md
    fused_over_readable: float
    fused_over_readable_low: float
    fused_over_readable_high: float
    fused_over_readable_noise: Md
    numpy_over_torch: float
    numpy_frac: float
    torch_frac: float
    thread_min: float
    thread_max: float
    thread_faster: Md
    thread_noise: Md
    fold1: Md
    fold3: Md
    verdict_fold1: Md
    verdict_fold3: Md
    fold1_1t: float
    fold3_1t: float
    verdict_ratio: Md
    verdict_bw: Md
    staged_ratio: float
    copy_gb_s: float
    bwd_traffic_gb: float
    bwd_predicted_ms: float
    bwd_measured_ms: float
    passes: PassSummary = field(metadata={"glue": "speed_"})


def _noise_words(r: dict) -> Md:
    return Md("within the noise of this run" if r["noise"] else "outside the noise of this run")


def _thread_words(threads: list[dict]) -> tuple[Md, Md]:
    fast = [t for t in threads if t["ratio"] > 1]
    faster = ("faster at every size" if len(fast) == len(threads) else "slower at every size" if not fast
              else f"faster at {len(fast)} of {len(threads)} sizes")
    noise = ("; at every size the quartile interval contains 1, so this run cannot tell the two apart"
             if all(t["noise"] for t in threads) else "" if not any(t["noise"] for t in threads)
             else "; where the quartile interval contains 1 the difference is noise")
    return Md(faster), Md(noise)


def summarize(result: dict, passes: PassSummary) -> SpeedSummary:
    """The speed chapter's numbers from a speed result file and the NumPy codes' pass counts.

    ``passes``: the full-size array passes of the book's NumPy codes
    (:meth:`bn.benchmark.array_passes.PassCounts.summary`); the compact backward's, with the copy
    bandwidth, predicts the backward's time at the largest size (4-byte elements).
    """
    compact_backward_passes = passes.passes_compact_bwd
    prov, load = result["provenance"], result["load_average_1min"]
    goals, fused, threads = goal_summary(result), fused_summary(result), thread_speedups(result)
    default = result["torch_threads"]
    fold = {f["kernel"]: f for f in result["folding"] if f["threads"] == default}
    largest = max(result["config"]["elements"])
    copy_gb_s = _one(result["copy"], elements=largest)["gb_s"]
    compact_s = staged_over_compact(result)[-1]
    traffic = compact_backward_passes * 4 * largest
    faster, noise = _thread_words(threads)
    ratios = {}
    for key in ("readable_over_torch1", "fused_over_torch1", "fused_over_readable"):
        r = fused[key]
        ratios.update({key: r["ratio"], f"{key}_low": r["low"], f"{key}_high": r["high"],
                       f"{key}_noise": _noise_words(r)})
    target = GOALS["folding_speedup_min"]
    return SpeedSummary(
        cpu_count=prov["device"]["cpu_count"], load_start=load["start"], load_end=load["end"],
        torch_threads=default, niceness=result["niceness"], repeats=result["config"]["repeats"], **ratios,
        numpy_over_torch=goals["numpy_over_torch_default"], numpy_frac=100 * goals["numpy_fraction_of_copy"],
        torch_frac=100 * goals["torch_fraction_of_copy"],
        thread_min=min(t["ratio"] for t in threads), thread_max=max(t["ratio"] for t in threads),
        thread_faster=faster, thread_noise=noise,
        fold1=Md(shown_against(fold[1]["speedup"], target, True)),
        fold3=Md(shown_against(fold[3]["speedup"], target, True)),
        verdict_fold1=Md(_verdict(goals["folding_goal_met"][1])),
        verdict_fold3=Md(_verdict(goals["folding_goal_met"][3])),
        fold1_1t=goals["folding_speedups_1thread"][1], fold3_1t=goals["folding_speedups_1thread"][3],
        verdict_ratio=Md(_verdict(goals["numpy_ratio_goal_met"])),
        verdict_bw=Md(_verdict(goals["numpy_bandwidth_goal_met"])),
        staged_ratio=compact_s["ratio"], copy_gb_s=copy_gb_s, bwd_traffic_gb=traffic / 1e9,
        bwd_predicted_ms=1e3 * traffic / (copy_gb_s * 1e9), bwd_measured_ms=1e3 * compact_s["compact_s"],
        passes=passes)
