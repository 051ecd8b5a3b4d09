"""Deciding that a run has diverged, so that the loop can record it and stop instead of crashing."""

from __future__ import annotations

import math
from collections import deque


class DivergenceMonitor:
    """Flags a non-finite loss at once, or a loss that has blown up.

    Blow-up: the mean of the last ``window`` losses exceeds ``factor`` times the
    first loss. A single spike does not count (a high learning rate can cause a
    spike the run recovers from); a window mean that high means the run no
    longer learns. The first loss of a 10-class classifier is about ln 10 = 2.3.
    """

    def __init__(self, factor: float = 5.0, window: int = 20) -> None:
        self.factor = factor
        self.window = window
        self.first_loss: float | None = None
        self.recent: deque[float] = deque(maxlen=window)
        self.reason: str | None = None

    def update(self, loss: float) -> bool:
        """Record ``loss``; return True once the run counts as diverged (``self.reason`` says why)."""
        if not math.isfinite(loss):
            self.reason = "non-finite loss"
            return True
        if self.first_loss is None:
            self.first_loss = loss
        self.recent.append(loss)
        if len(self.recent) == self.window and sum(self.recent) / self.window > self.factor * self.first_loss:
            self.reason = f"loss blow-up (mean of last {self.window} > {self.factor} x first loss)"
            return True
        return False

    def state_dict(self) -> dict:
        return {"first_loss": self.first_loss, "recent": list(self.recent), "reason": self.reason}

    def load_state_dict(self, state: dict) -> None:
        self.first_loss = state["first_loss"]
        self.recent = deque(state["recent"], maxlen=self.window)
        self.reason = state["reason"]
