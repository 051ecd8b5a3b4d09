"""Learning-rate schedules: linear warm-up, then exponential decay.

The paper decays the rate exponentially (Inception's schedule) and, for its
accelerated BN networks, "6 times faster" (Ioffe & Szegedy 2015, Sec. 4.2.1).
We parametrize the decay by its half-life in steps, so "6x faster" is a
half-life six times shorter.
"""

from __future__ import annotations

import math


def learning_rate(step: int, peak_lr: float, warmup_steps: int = 0,
                  half_life: float | None = None) -> float:
    """Rate used at ``step`` (0-based).

    Rises linearly from ``peak_lr / warmup_steps`` to ``peak_lr`` over the first
    ``warmup_steps`` steps (a short warm-up keeps the first large updates of a
    freshly initialized net from blowing up), then halves every ``half_life``
    steps (``None``: constant).
    """
    if step < 0:
        raise ValueError("step must be >= 0")
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    if half_life is None:
        return peak_lr
    if half_life <= 0:
        raise ValueError("half_life must be positive")
    return peak_lr * math.pow(0.5, (step - warmup_steps) / half_life)
