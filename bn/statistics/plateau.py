"""Whether runs have stopped improving: the condition for testing a claim about where training ends.

The rule, fixed before any result is read: split each run's evaluations at
80 % of its steps. A run's *late rise* is its best periodic (validation)
accuracy after that point minus its best before it. An arm has *plateaued*
when the mean late rise over its runs is no larger than the seed-to-seed
spread (the sample standard deviation over runs of their best accuracy).
With fewer than two runs there is no spread, and a run without evaluations on
both sides of the split cannot show where it stopped improving: in either case
the arm is not judged to have plateaued.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

LATE_FRACTION = 0.2
"""The last fraction of a run's steps whose improvement the rule weighs."""

PLATEAU_RULE = ("an arm has plateaued when its best validation accuracy over the last 20 % of the steps "
                "rises, on average over seeds, by no more than the seed-to-seed spread (standard deviation) "
                "of the best accuracy")


@dataclass(frozen=True)
class Plateau:
    """The plateau rule applied to one arm: each run's late rise, the spread, and the outcome."""

    plateaued: bool
    mean_rise: float
    spread: float
    rises: tuple[float, ...]
    best_steps: tuple[int, ...]
    budget: int

    def text(self) -> str:
        """``"plateaued (late rise +0.3 points ≤ spread 0.9)"``-style summary, in points."""
        word = "plateaued" if self.plateaued else "still rising"
        rel = "≤" if self.plateaued else ">"
        return f"{word} (late rise {100 * self.mean_rise:+.1f} points {rel} spread {100 * self.spread:.1f})"


def late_rise(steps: Sequence[int], accs: Sequence[float], budget: int,
              fraction: float = LATE_FRACTION) -> float:
    """Best accuracy after ``(1 - fraction) * budget`` steps minus the best up to it (step 0 excluded)."""
    cut = (1 - fraction) * budget
    early = [a for s, a in zip(steps, accs) if 0 < s <= cut]
    late = [a for s, a in zip(steps, accs) if s > cut]
    if not early or not late:
        raise ValueError(f"a run needs evaluations on both sides of step {cut:g} to judge its late rise")
    return max(late) - max(early)


def plateau(curves: Sequence[tuple[Sequence[int], Sequence[float]]], budget: int,
            fraction: float = LATE_FRACTION) -> Plateau:
    """Apply the plateau rule to the (steps, accuracies) curves of one arm's runs (completed runs only)."""
    best_steps = tuple(int(s[1 + int(np.argmax(a[1:]))]) for s, a in curves)
    try:
        rises = tuple(late_rise(s, a, budget, fraction) for s, a in curves)
    except ValueError:
        return Plateau(False, math.nan, math.nan, (), best_steps, budget)
    bests = [max(a[1:]) for _, a in curves]
    if len(curves) < 2:
        return Plateau(False, rises[0] if rises else math.nan, math.nan, rises, best_steps, budget)
    mean_rise = float(np.mean(rises))
    spread = float(np.std(bests, ddof=1))
    return Plateau(mean_rise <= spread, mean_rise, spread, rises, best_steps, budget)
