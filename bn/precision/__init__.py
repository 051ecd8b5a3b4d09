"""Floating-point precision of batch normalization.

- :mod:`bn.precision.variance`: one-pass, two-pass, Welford and Chan variance in a
  chosen NumPy dtype (pure NumPy).
- :mod:`bn.precision.errors`: forward/backward error of float16/bfloat16/float32
  implementations against float64 (uses torch for bfloat16, so this package sits
  with the torch adapters, layer 4).
- :mod:`bn.precision.sweep`: the sweeps over mean/std, m and eps the chapter plots.
"""

from bn.precision.errors import PrecisionCase, forward_backward_error, one_pass_batch_norm, storage_error
from bn.precision.sweep import forward_backward_sweep, variance_errors, variance_sweep
from bn.precision.variance import (VARIANCE_ALGORITHMS, chan_combine, chan_variance, one_pass_variance,
                                   two_pass_variance, welford_variance)

__all__ = ["PrecisionCase", "VARIANCE_ALGORITHMS", "chan_combine", "chan_variance", "forward_backward_error",
           "forward_backward_sweep", "one_pass_batch_norm", "one_pass_variance", "storage_error",
           "two_pass_variance", "variance_errors", "variance_sweep", "welford_variance"]
