"""Floating-point precision of batch normalization.

- :mod:`bn.precision.variance`: one-pass, two-pass, Welford and Chan variance in a
  chosen NumPy dtype (pure NumPy; importing it never loads torch).
- :mod:`bn.precision.errors`: forward/backward error of float16/bfloat16/float32
  implementations against float64 (torch for bfloat16, hence layer 4 with the torch
  adapters): :class:`~bn.precision.errors.PrecisionCase`,
  :func:`~bn.precision.errors.forward_backward_error`, :func:`~bn.precision.errors.storage_error`.
- :mod:`bn.precision.sweep`: the sweeps over mean/std, m and eps the chapter plots,
  and their tables.

This package namespace holds the NumPy-only names; the torch-backed ones are
imported from their modules, so that ``bn.precision.variance`` stays torch-free.
"""

from bn.precision.variance import (VARIANCE_ALGORITHMS, chan_combine, chan_variance, one_pass_variance,
                                   two_pass_variance, welford_variance)

__all__ = ["VARIANCE_ALGORITHMS", "chan_combine", "chan_variance", "one_pass_variance", "two_pass_variance",
           "welford_variance"]
