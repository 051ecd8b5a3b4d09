"""What Ioffe & Szegedy (2015) report, as data, so the book quotes the paper from one place.

These are the paper's numbers (ImageNet, Inception), not results of this
repository; chapters cite them next to our own measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

# Figure 3 of the paper: training steps to reach the Inception baseline's
# maximum accuracy (72.2 %), and each model's maximum validation accuracy.
FIG3_STEPS_TO_INCEPTION_MAX: dict[str, float | None] = {
    "Inception": 31.0e6,
    "BN-Baseline": 13.3e6,
    "BN-x5": 2.1e6,
    "BN-x30": 2.7e6,
    "BN-x5-Sigmoid": None,  # never reached 72.2 %
}
FIG3_MAX_ACCURACY: dict[str, float] = {
    "Inception": 0.722,
    "BN-Baseline": 0.727,
    "BN-x5": 0.730,
    "BN-x30": 0.748,
    "BN-x5-Sigmoid": 0.698,
}
# Section 4.2.3: the BN-Inception ensemble.
ENSEMBLE_TOP5_VALIDATION_ERROR = 0.049
ENSEMBLE_TOP5_TEST_ERROR = 0.0482


def fig3_speedup(model: str) -> float:
    """How many times fewer steps than Inception ``model`` needed to reach 72.2 % (paper, Fig. 3)."""
    steps = FIG3_STEPS_TO_INCEPTION_MAX[model]
    if steps is None:
        raise ValueError(f"{model} never reached the Inception baseline's accuracy in the paper")
    return FIG3_STEPS_TO_INCEPTION_MAX["Inception"] / steps


@dataclass(frozen=True)
class PaperHeadlines:
    """The paper's two headline claims as numbers: the training speedups of Fig. 3 (how many
    times fewer steps than Inception, ``speedup_*``) and the ensemble's top-5 error in percent
    (``ensemble_top5_*``, validation set and test server)."""

    speedup_bn_x5: float
    speedup_bn_baseline: float
    ensemble_top5_val: float
    ensemble_top5_test: float


def headlines() -> PaperHeadlines:
    """The numbers the book quotes when it states what the paper claims."""
    return PaperHeadlines(speedup_bn_x5=fig3_speedup("BN-x5"), speedup_bn_baseline=fig3_speedup("BN-Baseline"),
                          ensemble_top5_val=100 * ENSEMBLE_TOP5_VALIDATION_ERROR,
                          ensemble_top5_test=100 * ENSEMBLE_TOP5_TEST_ERROR)
