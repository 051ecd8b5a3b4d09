"""How accurate each derivative check is: the step-size sweep, the grid of condition factors,
the degenerate batch of two, and a complex-step check of a large batch.

The gradient-checking chapter computes these errors in its cells; :func:`summarize_check_accuracy`
reduces them to the numbers its prose states. Errors of difference quotients carry about three
meaningful digits (the five-point minimum one); rounding-level errors (the complex step's) are
stated by their checked bound, :func:`bn.formatting.upper_bound` of
:func:`~bn.gradcheck.tolerances.complex_step_tolerance`, whose leading digit does not depend on
the CPU's vector kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from bn.formatting import upper_bound
from bn.gradcheck.batch_norm import (BatchNormGradientCheck, batch_norm_condition,
                                     batch_norm_derivative_scale, degenerate_batch)
from bn.gradcheck.tolerances import complex_step_tolerance, optimal_central_step

_MEASURED = {"digits": 3}  # a measured error of a difference quotient: about three digits

# Condition factors up to which the grid counts as well conditioned, as the chapter states them:
# 45 for the complex step's bound, 50 for the two-point error (on the chapter's grid both keep
# the |mu|/sigma <= 30 rows, whose kappa_x reach about 40; the next row starts above 100).
WELL_CONDITIONED_CS, WELL_CONDITIONED_C2 = 45.0, 50.0


@dataclass(frozen=True)
class CheckAccuracySummary:
    """Every number the gradient-checking chapter states, glued as a prefix + field name.

    Step-size sweep (one input, one direction): ``kappa_demo`` its condition factor, ``hbn`` the
    model's optimal two-point step, ``best2``/``best2_h`` the smallest two-point error and its
    step, ``best4`` the smallest five-point error, ``complex_max`` the bound on every complex-step
    error, ``err_at_1e8`` the two-point error at h = 1e-8 and ``err_1e8_factor`` its ratio to the
    optimum. Grid over ``|mu|/sigma`` and seeds: the worst error of each method (``grid_worst_*``), and
    among well-conditioned inputs (``grid_cs_low``, ``grid_c2_low``); ``big_*`` the worst errors on
    the largest shape at ``|mu|/sigma = 1000``. Degenerate batches of m rows (m = 2, 3, 8):
    ``m{m}_ratio`` the size of dx over its undegenerate size, ``m{m}_central`` the two-point
    error. Large batch: its ``big_size`` values, the bound ``big_err`` on the complex-step errors
    and the ``evals_full`` evaluations a full central-difference gradient would cost.
    """

    kappa_demo: float
    hbn: float
    best2: float = field(metadata=_MEASURED)
    best2_h: float
    best4: float = field(metadata={"digits": 1})  # half rounding noise: one digit
    complex_max: float
    err_at_1e8: float = field(metadata=_MEASURED)
    err_1e8_factor: float = field(metadata=_MEASURED)
    big_c2: float = field(metadata=_MEASURED)
    big_c4: float = field(metadata=_MEASURED)
    big_cs: float
    grid_worst_c2: float = field(metadata=_MEASURED)
    grid_worst_c4: float = field(metadata=_MEASURED)
    grid_worst_cs: float
    grid_cs_low: float
    grid_c2_low: float = field(metadata=_MEASURED)
    m2_ratio: float = field(metadata=_MEASURED)
    m2_central: float = field(metadata=_MEASURED)
    m3_ratio: float = field(metadata=_MEASURED)
    m3_central: float = field(metadata=_MEASURED)
    m8_ratio: float = field(metadata=_MEASURED)
    m8_central: float = field(metadata=_MEASURED)
    big_size: int
    big_err: float
    evals_full: int


def _worst(records: Sequence[Mapping[str, float]], key: str, where: Sequence[bool] | None = None) -> float:
    chosen = records if where is None else [r for r, ok in zip(records, where) if ok]
    return float(max(r[key] for r in chosen))


def summarize_check_accuracy(*, steps: np.ndarray, err2: np.ndarray, err4: np.ndarray, errc_tiny: np.ndarray,
                             err_at_1e8: float, kappa: float, grid: Sequence[Mapping[str, float]],
                             big: Mapping[str, Sequence[float]], big_kappa: float, large_x: np.ndarray,
                             large_checks: Mapping[str, BatchNormGradientCheck]) -> CheckAccuracySummary:
    """The chapter's numbers from its computations.

    ``steps``, ``err2``, ``err4``: the step-size sweep (two- and five-point errors per step);
    ``errc_tiny``: complex-step errors over tiny steps; ``err_at_1e8``: the two-point error at
    h = 1e-8; ``kappa``: the sweep input's condition factor. ``grid``: one record per input of
    the condition grid, with its ``kappa`` and the worst error of ``central2``, ``central4`` and
    ``complex``; ``big``: those errors per seed on the largest shape, whose largest condition
    factor is ``big_kappa``. ``large_x`` and ``large_checks``: the large batch and its
    complex-step checks. The degenerate batches are recomputed here
    (:func:`~bn.gradcheck.batch_norm.degenerate_batch`, m = 2, 3, 8).
    """
    best = int(np.argmin(err2))
    m2 = batch_norm_derivative_scale(2)
    kap = np.array([r["kappa"] for r in grid])
    degenerate = {m: degenerate_batch(m) for m in (2, 3, 8)}
    rounding = complex_step_tolerance(np.float64, condition=batch_norm_condition(large_x))
    return CheckAccuracySummary(
        kappa_demo=float(kappa),
        hbn=float(optimal_central_step(np.float64, 2, condition=kappa, derivative_scale=m2)),
        best2=float(err2[best]), best2_h=float(steps[best]), best4=float(np.min(err4)),
        complex_max=upper_bound(float(np.max(errc_tiny)), complex_step_tolerance(np.float64, condition=kappa)),
        err_at_1e8=float(err_at_1e8), err_1e8_factor=float(err_at_1e8 / err2[best]),
        big_c2=float(max(big["central2"])), big_c4=float(max(big["central4"])),
        big_cs=upper_bound(max(big["complex"]), complex_step_tolerance(np.float64, condition=big_kappa)),
        grid_worst_c2=_worst(grid, "central2"), grid_worst_c4=_worst(grid, "central4"),
        grid_worst_cs=upper_bound(_worst(grid, "complex"),
                                  complex_step_tolerance(np.float64, condition=float(kap.max()))),
        grid_cs_low=upper_bound(
            _worst(grid, "complex", kap <= WELL_CONDITIONED_CS),
            complex_step_tolerance(np.float64, condition=float(kap[kap <= WELL_CONDITIONED_CS].max()))),
        grid_c2_low=_worst(grid, "central2", kap <= WELL_CONDITIONED_C2),
        m2_ratio=degenerate[2].ratio, m2_central=degenerate[2].central_error,
        m3_ratio=degenerate[3].ratio, m3_central=degenerate[3].central_error,
        m8_ratio=degenerate[8].ratio, m8_central=degenerate[8].central_error,
        big_size=int(large_x.size),
        big_err=upper_bound(max(c.relative_error for c in large_checks.values()), rounding),
        evals_full=2 * int(large_x.size))
