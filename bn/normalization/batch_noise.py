"""The noise of small batches in numbers: batch statistics, BN's train/eval gap, Batch Renorm's.

:func:`summarize_batch_noise` draws, with fixed seeds, the batch statistics of Gaussian batches
(:mod:`bn.normalization.batch_statistics`) and the train/eval gap of one value in a batch
(:mod:`bn.normalization.train_eval`), and returns every number stated about them as one record.
NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from bn.normalization.batch_statistics import (gaussian_batch_mean_moments,
                                               gaussian_batch_var_moments, sample_batch_statistics)
from bn.normalization.train_eval import batch_renorm_train_outputs, first_order_rms_gap, gap_curve

__all__ = ["BatchNoiseSummary", "relative_var_noise", "spread_discrepancy", "summarize_batch_noise"]

SPREAD_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)


def relative_var_noise(m: int) -> float:
    """``sqrt(2 / (m - 1))``: the standard deviation of ``var_B / E[var_B]`` for a Gaussian batch of ``m``."""
    if m < 2:
        raise ValueError(f"a batch needs at least 2 values, got {m}")
    return float(np.sqrt(2 / (m - 1)))


def spread_discrepancy(batch_sizes: tuple[int, ...], trials: int, seed: int = 1) -> float:
    """Largest ``|simulated sd / exact sd - 1|`` of ``mu_B`` and ``var_B`` over ``batch_sizes``.

    One generator ``default_rng([seed, m])`` per batch size draws ``trials`` standard normal
    batches (:func:`sample_batch_statistics`); the exact standard deviations are those of
    :func:`gaussian_batch_mean_moments` and :func:`gaussian_batch_var_moments`.
    """
    worst = 0.0
    for m in batch_sizes:
        means, variances = sample_batch_statistics(np.random.default_rng([seed, m]), m, trials)
        worst = max(worst,
                    abs(means.std() / np.sqrt(gaussian_batch_mean_moments(m)[1]) - 1),
                    abs(variances.std() / np.sqrt(gaussian_batch_var_moments(m)[1]) - 1))
    return float(worst)


@dataclass(frozen=True)
class BatchNoiseSummary:
    """What the small-batch chapter states, glued as ``sb-`` + field (hyphens for underscores).

    Batch variance: ``trials`` simulated batches per size; ``relnoise`` the exact relative
    noise ``sqrt(2/(m-1))`` of ``var_B`` per batch size ``m``; at ``m = 4``, the percentage of
    batches whose ``var_B`` is below a quarter of ``sigma^2`` (``frac_half_4``: their standard
    deviation is under half of sigma), the simulated mean of ``var_B`` and the exact one
    ``(m-1)/m``. ``spread_worst``: in percent, the largest relative gap between simulated and
    exact standard deviations of ``mu_B`` and ``var_B`` (:func:`spread_discrepancy`).
    Train/eval gap of ``x0 = 2`` (RMS over batches, :func:`bn.normalization.train_eval.gap_curve`):
    ``gap`` simulated for BN and ``gap_fo`` to first order in ``1/m``, keyed ``m<size>``;
    ``brn_tight_m4`` / ``brn_loose_m4`` Batch Renorm's gap at ``m = 4`` with
    ``(r_max, d_max) = (1.5, 0.5)`` / ``(3, 5)``.
    """

    relnoise: dict[int, float]
    trials: int
    frac_half_4: float
    mean_var_4_sim: float
    mean_var_4_exact: float
    spread_worst: float
    gap: dict[str, float]
    gap_fo: dict[str, float]
    brn_tight_m4: float
    brn_loose_m4: float


def summarize_batch_noise(trials: int = 20_000, x0: float = 2.0,
                          relnoise_sizes: tuple[int, ...] = (4, 32, 256),
                          gap_sizes: tuple[int, ...] = (2, 4, 256),
                          spread_sizes: tuple[int, ...] = SPREAD_SIZES) -> BatchNoiseSummary:
    """The chapter's numbers, with its seeds: ``default_rng(4)`` for the ``m = 4`` batches,
    ``[1, m]`` for the spread of the statistics, ``[2, m]`` for every train/eval gap (so each
    gap equals the entry of a longer curve at that size)."""
    variances_4 = sample_batch_statistics(np.random.default_rng(4), 4, trials)[1]
    bn_gap = gap_curve(x0, list(gap_sizes), trials, seed=2)

    def brn_gap_m4(r_max: float, d_max: float) -> float:
        outputs = partial(batch_renorm_train_outputs, r_max=r_max, d_max=d_max)
        return float(gap_curve(x0, [4], trials, seed=2, outputs=outputs)[0])

    return BatchNoiseSummary(
        relnoise={m: relative_var_noise(m) for m in relnoise_sizes},
        trials=trials,
        frac_half_4=100 * float(np.mean(variances_4 < 0.25)),
        mean_var_4_sim=float(variances_4.mean()),
        mean_var_4_exact=gaussian_batch_var_moments(4)[0],
        spread_worst=100 * spread_discrepancy(spread_sizes, trials),
        gap={f"m{m}": float(g) for m, g in zip(gap_sizes, bn_gap)},
        gap_fo={f"m{m}": first_order_rms_gap(x0, m) for m in gap_sizes},
        brn_tight_m4=brn_gap_m4(1.5, 0.5),
        brn_loose_m4=brn_gap_m4(3.0, 5.0),
    )
