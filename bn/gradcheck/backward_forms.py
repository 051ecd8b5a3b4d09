"""The compact and the staged backward pass side by side: how far apart their results are in
float64, and how many full-size array passes each makes.

The two forms are equal in exact arithmetic; in floating point both inherit the error of the
computed mean, about ``u * kappa_x`` in units of the channel's standard deviation
(:func:`~bn.gradcheck.batch_norm.batch_norm_condition`), so their difference is measured against
that scale on inputs whose mean grows from 0 to many standard deviations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from bn.functional import batch_norm_backward, batch_norm_backward_staged, batch_norm_forward
from bn.gradcheck.batch_norm import batch_norm_condition
from bn.gradcheck.metrics import relative_error


class ArrayTraffic(Protocol):
    """What a pass count reports (:class:`bn.benchmark.array_passes.ArrayPassCount`)."""

    @property
    def passes(self) -> int: ...

    @property
    def reductions(self) -> int: ...


@dataclass(frozen=True)
class FormsAgreement:
    """One input of the agreement sweep: its mean in standard deviations, its condition factor,
    and the relative error between the compact and the staged gradients."""

    mean_over_std: float
    kappa: float
    dx: float
    dgamma: float
    dbeta: float


def backward_forms_agreement(ratios: Sequence[float], *, seed: int = 1,
                             shape: tuple[int, ...] = (32, 8, 4, 4)) -> list[FormsAgreement]:
    """Compact against staged backward in float64 on Gaussian inputs of std 1 and mean
    ``ratio``, one per ratio, each drawn from a fresh generator seeded ``seed`` (input, upstream
    gradient, gamma ~ N(1, 0.2), beta ~ N(0, 0.2), in that order)."""
    rows = []
    for ratio in ratios:
        rng = np.random.default_rng(seed)
        x = rng.normal(loc=ratio, scale=1.0, size=shape)
        dy = rng.standard_normal(x.shape)
        gamma = rng.normal(1, 0.2, shape[1])
        beta = rng.normal(0, 0.2, shape[1])
        _, cache = batch_norm_forward(x, gamma, beta)
        errors = [relative_error(a, b) for a, b in
                  zip(batch_norm_backward(dy, cache), batch_norm_backward_staged(dy, cache))]
        rows.append(FormsAgreement(float(ratio), batch_norm_condition(x), *errors))
    return rows


@dataclass(frozen=True)
class BackwardFormsSummary:
    """What the formulas-to-code chapter states about its two backward passes (glued under a
    prefix + field name).

    Agreement, float64, on the inputs of :func:`backward_forms_agreement`: ``agree_well_scaled``
    the relative difference of ``dx`` at mean 0; ``agree_max_ratio`` the largest difference in
    units of ``u * kappa_x``; ``agree_worst_dx`` the largest difference; ``m`` the values per
    channel. Traffic, from the pass counts: full-size passes of each form (``passes_*``), their
    ratio staged over compact, the floor of a fused loop (``passes_fused``), the full-size
    reductions (``red_*``), and the gigabytes each form moves for a float32 activation of 16 Mi
    values (``gb_*_16m``).
    """

    agree_well_scaled: float
    agree_max_ratio: float
    agree_worst_dx: float
    m: int
    passes_compact: int
    passes_staged: int
    passes_ratio: float
    passes_fused: int
    red_staged: int
    red_compact: int
    gb_staged_16m: float
    gb_compact_16m: float


def summarize_backward_forms(compact: ArrayTraffic, staged: ArrayTraffic, ratios: Sequence[float], *,
                             fused_passes: int, elements: int, seed: int = 1,
                             shape: tuple[int, ...] = (32, 8, 4, 4), itemsize: int = 4) -> BackwardFormsSummary:
    """The chapter's numbers: the agreement sweep over ``ratios`` (first ratio: the well-scaled
    input), and the traffic of the two forms' pass counts ``compact`` and ``staged``, for an
    activation of ``elements`` values of ``itemsize`` bytes, against a fused loop's
    ``fused_passes``."""
    rows = backward_forms_agreement(ratios, seed=seed, shape=shape)
    u = float(np.finfo(np.float64).eps) / 2
    return BackwardFormsSummary(
        agree_well_scaled=rows[0].dx,
        agree_max_ratio=max(r.dx / (u * r.kappa) for r in rows),
        agree_worst_dx=max(r.dx for r in rows),
        m=int(np.prod(shape)) // shape[1],
        passes_compact=compact.passes, passes_staged=staged.passes,
        passes_ratio=staged.passes / compact.passes, passes_fused=fused_passes,
        red_staged=staged.reductions, red_compact=compact.reductions,
        gb_staged_16m=staged.passes * elements * itemsize / 1e9,
        gb_compact_16m=compact.passes * elements * itemsize / 1e9)
