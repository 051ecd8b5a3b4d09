"""The one rule that turns a comparison into a verdict, and the correction for testing many claims.

Every verdict in the book comes from :func:`decide`. The vocabulary is fixed:

* **reproduced**: the 95 % interval of the paired comparison lies entirely on the side of
  "no effect" that the paper claims;
* **reversed**: it lies entirely on the other side;
* **not resolved**: it includes "no effect", or censoring leaves only a bound on the side
  that settles nothing;
* **not tested at this budget**: the claim is about where training ends, and the runs
  compared have not plateaued (:mod:`bn.statistics.plateau`), so the budget, not the
  method, decides where they stop.

A reproduced verdict is called *larger* or *smaller than the paper* only when the interval
excludes the paper's number (a lower bound can only be larger, an upper bound only smaller)
and the target the comparison is read at is not set by where the budget ran out.

Claims about outcomes (a network trains, or fails) compare how many runs of each arm
trained, with Fisher's exact test, one-sided in each direction at 2.5 %, the same error
rate per side as the 95 % interval of the other claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from bn.statistics.intervals import Interval

VERDICTS = ("reproduced", "reversed", "not resolved", "not tested at this budget")
LEVEL = 0.95
"""The confidence level of every interval a verdict rests on."""
ALPHA_PER_SIDE = (1 - LEVEL) / 2


@dataclass(frozen=True)
class Evidence:
    """A paired comparison, as the verdict rule reads it.

    ``interval``: the comparison (a ratio or a difference) with its 95 % interval, or None
    where none could be formed; ``null``: "no effect" (1 for a ratio, 0 for a difference);
    ``claimed``: ``"above"`` or ``"below"`` the null, the paper's side; ``bound``: ``"exact"``,
    ``"at least"``, ``"at most"`` or ``"unresolved"`` (see :mod:`bn.statistics.censored`);
    ``about_end``: the claim is about where training ends, and ``plateaued`` says whether every
    arm compared plateaued; ``paper``: the paper's number on the same scale, if it gives one;
    ``target_from_budget``: the target was set where the budget ran out (the reference arm
    had not plateaued).
    """

    interval: Interval | None
    null: float
    claimed: str = "above"
    bound: str = "exact"
    about_end: bool = False
    plateaued: bool | None = None
    paper: float | None = None
    target_from_budget: bool = False

    def __post_init__(self) -> None:
        if self.claimed not in ("above", "below"):
            raise ValueError(f"claimed must be 'above' or 'below', got {self.claimed!r}")
        if self.bound not in ("exact", "at least", "at most", "unresolved"):
            raise ValueError(f"unknown bound {self.bound!r}")
        if self.about_end and self.plateaued is None:
            raise ValueError("a claim about where training ends needs plateaued=True or False")


@dataclass(frozen=True)
class Outcomes:
    """A claim about which runs train: ``(trained, runs)`` of the arm the paper says trains and of
    the arm it says fails."""

    trains: tuple[int, int]
    fails: tuple[int, int]

    def __post_init__(self) -> None:
        for k, n in (self.trains, self.fails):
            if not 0 <= k <= n:
                raise ValueError(f"trained runs must be between 0 and the runs, got {k} of {n}")


@dataclass(frozen=True)
class Verdict:
    """A verdict word from :data:`VERDICTS`, where the paper's number falls (or None), why, and the
    p-value of the test behind it (None where no test was made)."""

    word: str
    relation: str | None
    reason: str
    p: float | None

    def text(self) -> str:
        """``"reproduced"``, ``"reproduced, smaller than the paper"``..."""
        return self.word + (f", {self.relation}" if self.relation else "")


def _side(iv: Interval, null: float) -> str | None:
    if iv.low > null:
        return "above"
    if iv.high < null:
        return "below"
    return None


def decide(evidence: Evidence | Outcomes) -> Verdict:
    """The verdict the rule (module docstring) gives on ``evidence``."""
    if isinstance(evidence, Outcomes):
        return _decide_outcomes(evidence)
    e = evidence
    if e.about_end and not e.plateaued:
        return Verdict("not tested at this budget", None,
                       "the claim is about where training ends and the runs have not plateaued", None)
    iv = e.interval
    if iv is None or e.bound == "unresolved":
        return Verdict("not resolved", None, "no interval: runs of both arms fell short of the target", None)
    side = _side(iv, e.null)
    # A censored bound settles only its own side: a lower bound below the null says nothing.
    if (e.bound == "at least" and side == "below") or (e.bound == "at most" and side == "above"):
        side = None
    if side is None:
        return Verdict("not resolved", None, "the interval includes no effect (or a bound settles nothing)", iv.p)
    word = "reproduced" if side == e.claimed else "reversed"
    relation = None
    if word == "reproduced" and e.paper is not None and not e.target_from_budget:
        if iv.low > e.paper and e.bound in ("exact", "at least"):
            relation = "larger than the paper"
        elif iv.high < e.paper and e.bound in ("exact", "at most"):
            relation = "smaller than the paper"
    return Verdict(word, relation, f"the interval lies {side} no effect", iv.p)


def fisher_one_sided(k1: int, n1: int, k2: int, n2: int) -> float:
    """P(first arm has ``k1`` or more successes) under no difference, given the margins (Fisher's exact test)."""
    total, successes = n1 + n2, k1 + k2
    denom = math.comb(total, n1)
    return sum(math.comb(successes, k) * math.comb(total - successes, n1 - k)
               for k in range(k1, min(n1, successes) + 1)) / denom


def _decide_outcomes(o: Outcomes) -> Verdict:
    (kt, nt), (kf, nf) = o.trains, o.fails
    p_claim = fisher_one_sided(kt, nt, kf, nf)
    p_other = fisher_one_sided(kf, nf, kt, nt)
    # the two-sided p, on the scale of the t tests' p-values, for Holm's correction across claims
    p = min(1.0, 2 * min(p_claim, p_other))
    what = f"{kt}/{nt} trained against {kf}/{nf}"
    if p_claim < ALPHA_PER_SIDE:
        return Verdict("reproduced", None, f"{what} (one-sided exact p = {p_claim:.2g})", p)
    if p_other < ALPHA_PER_SIDE:
        return Verdict("reversed", None, f"{what} (one-sided exact p = {p_other:.2g})", p)
    return Verdict("not resolved", None, f"{what}: too few runs to tell (one-sided exact p = {min(p_claim, p_other):.2g})",
                   p)


def holm(ps: Sequence[float | None], alpha: float = 1 - LEVEL) -> list[bool | None]:
    """Holm's step-down correction: which of the p-values ``ps`` stay significant at family-wise ``alpha``.

    None entries (no test) are left out of the family and answered None.
    """
    tested = sorted((p, i) for i, p in enumerate(ps) if p is not None)
    m = len(tested)
    out: list[bool | None] = [None] * len(ps)
    rejecting = True
    for rank, (p, i) in enumerate(tested):
        rejecting = rejecting and p <= alpha / (m - rank)
        out[i] = rejecting
    return out


def all_of(verdicts: Sequence[Verdict], reason: str = "") -> Verdict:
    """One verdict on a claim that must hold in every one of several comparisons (every rate, every
    scale, every width): their common word if they agree (the largest p, the test of "all of them");
    else *not tested at this budget* if any part was not tested, else *not resolved*."""
    words = {v.word for v in verdicts}
    if len(words) == 1:
        word = words.pop()
        ps = [v.p for v in verdicts]
        p = max(ps) if word in ("reproduced", "reversed") and None not in ps else None
        return Verdict(word, None, reason or "the same in every part", p)
    word = "not tested at this budget" if "not tested at this budget" in words else "not resolved"
    return Verdict(word, None, reason or "the parts disagree: " + ", ".join(v.word for v in verdicts), None)
