"""A small timing harness: warm-up runs, repeated timed runs, median and spread.

Why the median: on a shared machine a few runs are slowed by other jobs; the
median ignores them while the interquartile range (q25..q75) reports how
noisy the measurement was. Warm-up runs are discarded because the first calls
pay for page faults on fresh buffers, lazy initialisation and cold caches.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["Timing", "time_callable", "time_interleaved", "load_average_1min"]


@dataclass(frozen=True)
class Timing:
    """Summary of ``repeats`` timed runs of one callable, in seconds."""

    median_s: float
    q25_s: float
    q75_s: float
    min_s: float
    max_s: float
    repeats: int
    warmup: int

    @property
    def relative_iqr(self) -> float:
        """Interquartile range over the median: the run-to-run noise."""
        return (self.q75_s - self.q25_s) / self.median_s if self.median_s > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "relative_iqr": self.relative_iqr}


def summarize(times: list[float], warmup: int) -> Timing:
    """The :class:`Timing` of a list of per-run durations."""
    if not times:
        raise ValueError("no timed runs")
    t = np.asarray(times, dtype=float)
    q25, med, q75 = np.percentile(t, [25, 50, 75])
    return Timing(float(med), float(q25), float(q75), float(t.min()), float(t.max()), len(times), warmup)


def time_callable(fn: Callable[[], Any], repeats: int = 7, warmup: int = 2,
                  sync: Callable[[], None] | None = None, clock: Callable[[], float] = time.perf_counter) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed; return the summary.

    ``sync`` is called before each clock reading (``torch.cuda.synchronize``
    on a GPU, where kernels run asynchronously); ``clock`` is injectable for tests.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError("need repeats >= 1 and warmup >= 0")
    sync = sync or (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        sync()
        times.append(clock() - start)
    return summarize(times, warmup)


def time_interleaved(fns: dict[str, Callable[[], Any]], repeats: int = 7, warmup: int = 2,
                     sync: Callable[[], None] | None = None,
                     clock: Callable[[], float] = time.perf_counter) -> dict[str, Timing]:
    """Time several callables in round-robin order (A, B, A, B, ...); one :class:`Timing` each.

    When two variants are compared on a shared machine, timing all runs of A
    and then all runs of B lets a change in the background load masquerade as
    a difference between them; interleaving exposes both to the same load.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError("need repeats >= 1 and warmup >= 0")
    sync = sync or (lambda: None)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = clock()
            fn()
            sync()
            times[name].append(clock() - start)
    return {name: summarize(t, warmup) for name, t in times.items()}


def load_average_1min() -> float | None:
    """The 1-minute load average (None where the OS does not report one)."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None
