"""Means, differences and ratios with Student-t intervals, and their p-values.

Pure Python/NumPy (no SciPy): the Student-t distribution function is computed from
its density by numerical integration, which is accurate to far more digits than a
handful of seeds can resolve.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from bn.formatting import interval


def _t_pdf(x: float, df: float) -> float:
    logc = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(logc - (df + 1) / 2 * math.log1p(x * x / df))


def t_cdf(x: float, df: float) -> float:
    """Student-t distribution function, by composite Simpson integration of the density from 0 to ``x``.

    The density is smooth, so 2000 Simpson panels give ~1e-12 absolute error
    for |x| < 50, which covers every quantile used here.
    """
    if x < 0:
        return 1.0 - t_cdf(-x, df)
    n = 2000
    hstep = x / n
    s = _t_pdf(0.0, df) + _t_pdf(x, df)
    s += 4 * sum(_t_pdf((2 * i - 1) * hstep, df) for i in range(1, n // 2 + 1))
    s += 2 * sum(_t_pdf(2 * i * hstep, df) for i in range(1, n // 2))
    return 0.5 + s * hstep / 3


@functools.lru_cache(maxsize=None)
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`t_cdf`)."""
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class Interval:
    """A mean (or ratio) with a two-sided confidence interval; ``n`` values went into it.

    ``p``: the two-sided p-value of the same t test against "no effect" (a mean of 0, a
    ratio of 1), where the interval came from one; None otherwise (a ratio of means).
    """

    estimate: float
    low: float
    high: float
    n: int
    level: float = 0.95
    p: float | None = field(default=None, compare=False)

    def fmt(self, digits: int = 2, scale: float = 1.0) -> str:
        """``"12.3 [10.1, 14.5]"``-style text (values multiplied by ``scale``, e.g. 100 for percent)."""
        return interval(self, digits, scale)


def mean_ci(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean of ``values`` with the t-based interval ``mean +- t_{(1+level)/2, n-1} * s / sqrt(n)``.

    With a single value the interval is unbounded (no spread can be estimated).
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0:
        raise ValueError("no values")
    m = float(x.mean())
    if n == 1:
        return Interval(m, -math.inf, math.inf, 1, level, p=1.0)
    sd = float(x.std(ddof=1))
    half = t_quantile((1 + level) / 2, n - 1) * sd / math.sqrt(n)  # this order of operations: stored results
    return Interval(m, m - half, m + half, n, level, p=t_test_p(m, sd / math.sqrt(n), n - 1))


def t_test_p(estimate: float, se: float, df: float) -> float:
    """Two-sided p-value of ``estimate / se`` under Student's t with ``df`` degrees of freedom
    (0 for a nonzero estimate without spread, 1 for a zero one)."""
    if se == 0:
        return 1.0 if estimate == 0 else 0.0
    return 2.0 * (1.0 - t_cdf(abs(estimate) / se, df))


def welch_df(s1: float, n1: int, s2: float, n2: int) -> float:
    """Welch-Satterthwaite degrees of freedom for two samples with standard deviations s1, s2."""
    a, b = s1 * s1 / n1, s2 * s2 / n2
    if a + b == 0:
        return float(n1 + n2 - 2)
    return (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))


def ratio_ci(numerator: Sequence[float], denominator: Sequence[float], level: float = 0.95) -> Interval:
    """Ratio of means ``mean(numerator) / mean(denominator)`` (e.g. a speedup in steps) with an interval.

    The interval is for the log of the ratio, by the delta method:
    ``Var(log m) ~ s^2 / (n m^2)`` for each mean, combined with Welch's degrees
    of freedom, then exponentiated (so it stays positive and is asymmetric).
    """
    a, b = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    ma, mb = float(a.mean()), float(b.mean())
    if ma <= 0 or mb <= 0:
        raise ValueError("ratio_ci needs positive means")
    r = ma / mb
    if len(a) < 2 or len(b) < 2:
        return Interval(r, 0.0, math.inf, min(len(a), len(b)), level)
    sa, sb = float(a.std(ddof=1)) / ma, float(b.std(ddof=1)) / mb  # coefficients of variation
    se = math.sqrt(sa * sa / len(a) + sb * sb / len(b))
    df = welch_df(sa, len(a), sb, len(b))
    half = t_quantile((1 + level) / 2, df) * se
    return Interval(r, r * math.exp(-half), r * math.exp(half), min(len(a), len(b)), level)


def difference_ci(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Interval:
    """``mean(a) - mean(b)`` with Welch's t interval (unequal variances, Welch-Satterthwaite df)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return Interval(d, -math.inf, math.inf, min(len(x), len(y)), level)
    sx, sy = float(x.std(ddof=1)), float(y.std(ddof=1))
    se = math.sqrt(sx * sx / len(x) + sy * sy / len(y))
    if se == 0:
        return Interval(d, d, d, min(len(x), len(y)), level)
    half = t_quantile((1 + level) / 2, welch_df(sx, len(x), sy, len(y))) * se
    return Interval(d, d - half, d + half, min(len(x), len(y)), level)


def paired_difference_ci(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Interval:
    """Mean of the paired differences ``a[i] - b[i]`` with its t interval.

    For two arms run on the same seeds (same initialization and data order), the
    seed-to-seed spread that both share cancels in each difference, so this
    interval is narrower than :func:`difference_ci`'s whenever the arms are
    positively correlated across seeds.
    """
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    return mean_ci([float(x) - float(y) for x, y in zip(a, b)], level)


def paired_ratio_ci(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Interval:
    """Geometric mean of the paired ratios ``a[i] / b[i]`` with its t interval (taken on the log scale).

    For positive measurements of two arms on the same seeds: the interval of
    the mean of ``log(a[i] / b[i])``, exponentiated, so "how many times larger"
    stays positive and a ratio of 1 means no difference.
    """
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    if min(list(a) + list(b)) <= 0:
        raise ValueError("paired_ratio_ci needs positive values")
    iv = mean_ci([math.log(float(x) / float(y)) for x, y in zip(a, b)], level)
    return Interval(math.exp(iv.estimate), math.exp(iv.low), math.exp(iv.high), iv.n, level, p=iv.p)
