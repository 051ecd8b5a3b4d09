"""What a training history says about time: when a periodic accuracy first reaches a target.

Intervals, comparisons and verdicts live in :mod:`bn.statistics`.
"""

from __future__ import annotations

from typing import Sequence



def first_reaching(xs: Sequence[float], accs: Sequence[float | None], target: float) -> float | None:
    """The first ``x`` (step or seconds) at which ``acc >= target``; None if never reached."""
    for x, a in zip(xs, accs):
        if a is not None and a >= target:
            return float(x)
    return None


def eval_accuracies(history: dict) -> list[float]:
    """A history's periodic accuracies: on the validation split where it had one, else on the test set."""
    return history.get("val_acc") or history["test_acc"]


def steps_to_target(history: dict, target: float) -> float | None:
    """Training steps until the periodic (validation, else test) accuracy first reaches ``target`` (None: never)."""
    return first_reaching(history["eval_step"], eval_accuracies(history), target)


def seconds_to_target(history: dict, target: float) -> float | None:
    """Training seconds (evaluation excluded) until the periodic accuracy first reaches ``target``."""
    return first_reaching(history["train_seconds"], eval_accuracies(history), target)


def reached(values: Sequence[float | None]) -> tuple[list[float], int]:
    """The values that are not None (runs that reached a target) and how many did not."""
    kept = [float(v) for v in values if v is not None]
    return kept, len(values) - len(kept)
