"""Steps-to-target ratios over paired seeds when some runs never reach the target (censoring).

A run that never reached a target within its budget has a step count that is
only known to exceed the budget. Filled in as its budget, it turns the paired
ratio ``reference / other`` into a bound: a lower bound ("at least") when only
reference runs fell short, an upper bound ("at most") when only runs of the
other arm did. When runs of both arms fell short (in one pair or in different
pairs), or the target is met at step 0, no ratio is given ("unresolved").
Censored runs are counted, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bn.formatting import times
from bn.statistics.intervals import Interval, paired_ratio_ci

BOUNDS = ("exact", "at least", "at most", "unresolved")


@dataclass(frozen=True)
class CensoredRatio:
    """How many times fewer steps ``other`` needs than ``reference``, geometric mean over pairs.

    ``bound``: one of :data:`BOUNDS`; ``per_pair``: each pair's ratio with budgets filled in;
    ``censored``: whether that pair had a run short of the target; ``reached_*``: runs of
    each arm that reached it, of ``n`` pairs.
    """

    ratio: Interval | None
    bound: str
    per_pair: tuple[float, ...]
    censored: tuple[bool, ...]
    reached_reference: int
    reached_other: int
    n: int

    def text(self, digits: int = 2) -> str:
        """``"2.96× [2.34, 3.75]"``, ``"≥ 2.34× [...]"``, or what reached it when there is no ratio."""
        if self.ratio is None:
            return f"– (reached: {self.reached_other}/{self.n} vs {self.reached_reference}/{self.n})"
        return {"at least": "≥ ", "at most": "≤ "}.get(self.bound, "") + times(self.ratio, digits)


def censored_ratio(reference: Sequence[float | None], other: Sequence[float | None],
                   reference_budget: Sequence[float], other_budget: Sequence[float]) -> CensoredRatio:
    """The paired ratio ``reference[i] / other[i]`` of steps to a target (None: never reached within
    the run's budget), with the bound that censoring allows (see the module docstring)."""
    n = len(reference)
    if not (len(other) == len(reference_budget) == len(other_budget) == n):
        raise ValueError("reference, other and their budgets need one entry per pair")
    got_r = sum(v is not None for v in reference)
    got_o = sum(v is not None for v in other)
    both_short = any(a is None and b is None for a, b in zip(reference, other))
    at_start = any(v == 0 for v in list(reference) + list(other))
    if n == 0 or both_short or at_start:
        return CensoredRatio(None, "unresolved", (), (), got_r, got_o, n)
    fr = [float(v) if v is not None else float(b) for v, b in zip(reference, reference_budget)]
    fo = [float(v) if v is not None else float(b) for v, b in zip(other, other_budget)]
    bound = ("exact" if got_r == n and got_o == n else "at least" if got_o == n
             else "at most" if got_r == n else "unresolved")
    censored = tuple(a is None or b is None for a, b in zip(reference, other))
    per_pair = tuple(x / y for x, y in zip(fr, fo))
    if bound == "unresolved":
        return CensoredRatio(None, bound, per_pair, censored, got_r, got_o, n)
    return CensoredRatio(paired_ratio_ci(fr, fo), bound, per_pair, censored, got_r, got_o, n)
