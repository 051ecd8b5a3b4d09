"""The same input, two outputs: BN in training mode versus BN in eval mode.

In training, an example is normalized with the statistics of the batch it
happens to be in; in eval mode with fixed population statistics. The
difference is noise that shrinks as the batch grows. Here the population is
``N(0, 1)`` per channel, so the eval-mode output of ``x0`` is
``x0 / sqrt(1 + eps)``, and the training-mode output is drawn by placing ``x0``
in a batch with ``m - 1`` random companions.

Each trial is one *channel* of a ``(m, trials)`` array, so one call of
:func:`bn.functional.batch_norm_forward` runs every trial at once.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from bn.normalization.batch_renorm import batch_renorm_forward
from bn.functional import batch_norm_forward, batch_norm_inference


def _check_sizes(m: int, trials: int) -> None:
    for name, value, low in (("m", m, 2), ("trials", trials, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def batches_containing(x0: float, m: int, trials: int, rng: np.random.Generator) -> np.ndarray:
    """``(m, trials)`` array: each column is a batch whose first value is ``x0``, the rest ``N(0, 1)``."""
    _check_sizes(m, trials)
    batches = rng.standard_normal((m, trials))
    batches[0] = float(x0)
    return batches


def eval_output(x0: float, eps: float = 1e-5) -> float:
    """Eval-mode BN output of ``x0`` (gamma 1, beta 0) with the population statistics mean 0, variance 1."""
    one = np.ones(1)
    return float(batch_norm_inference(np.array([[x0]], dtype=np.float64), one, 0 * one, 0 * one, one, eps)[0, 0])


def train_outputs(x0: float, m: int, trials: int, rng: np.random.Generator,
                  eps: float = 1e-5) -> np.ndarray:
    """Training-mode BN outputs of ``x0``, one per random batch; shape ``(trials,)``."""
    batches = batches_containing(x0, m, trials, rng)
    ones = np.ones(trials)
    y, _ = batch_norm_forward(batches, ones, 0 * ones, eps)
    return y[0]


def rms_gap(outputs: np.ndarray, reference: float) -> float:
    """Root-mean-square difference between training-mode outputs and the eval-mode output."""
    return float(np.sqrt(np.mean((np.asarray(outputs) - reference) ** 2)))


def first_order_rms_gap(x0: float, m: int) -> float:
    """``sqrt((1 + x0^2 / 2) / m)``: the RMS train/eval gap of ``x0`` to first order in ``1/m``.

    From the delta method: the output moves by ``-delta_mu - x0 * delta_var / 2``
    with ``Var[delta_mu] ~ 1/m``, ``Var[delta_var] ~ 2/m`` and the two uncorrelated
    (Gaussian population, ``eps`` neglected).
    """
    _check_sizes(m, 1)
    return float(np.sqrt((1.0 + x0**2 / 2.0) / m))


def gap_curve(x0: float, batch_sizes: list[int], trials: int, seed: int,
              outputs: Callable[..., np.ndarray] | None = None) -> np.ndarray:
    """RMS train/eval gap of ``x0`` for each batch size; ``outputs(x0, m, trials, rng)`` defaults to BN's.

    One generator seeded with ``seed`` per batch size, so a curve does not
    change when a batch size is added to the list.
    """
    outputs = outputs or train_outputs
    reference = eval_output(x0)
    return np.array([rms_gap(outputs(x0, m, trials, np.random.default_rng([seed, m])), reference)
                     for m in batch_sizes])


def batch_renorm_train_outputs(x0: float, m: int, trials: int, rng: np.random.Generator,
                               r_max: float, d_max: float, eps: float = 1e-5) -> np.ndarray:
    """Training-mode Batch Renormalization outputs of ``x0``; shape ``(trials,)``.

    The running statistics are the population's (mean 0, variance 1), the
    state Batch Renormalization's moving averages aim at. Where neither ``r``
    nor ``d`` is clipped the output is exactly the eval-mode output.
    """
    batches = batches_containing(x0, m, trials, rng)
    ones = np.ones(trials)
    out = batch_renorm_forward(batches, ones, 0 * ones, 0 * ones, ones, r_max=r_max, d_max=d_max,
                               eps=eps)
    return out.y[0]
