"""Numerical derivative checks: finite differences, complex step, tolerances from the dtype.

Layer 2 of ``bn`` (imports :mod:`bn.functional` and NumPy only).

- :func:`relative_error`, :func:`max_abs_error` — the error metric
- :func:`central_difference`, :func:`numerical_gradient` — central finite differences (order 2 or 4)
- :func:`complex_step_derivative`, :func:`complex_step_gradient` — the complex step
- :func:`step_size_sweep` — error against step size (the U-curve)
- :func:`random_directions`, :func:`directional_check` — cheap checks for big tensors
- :func:`machine_epsilon`, :func:`optimal_central_step`, :func:`central_difference_error_bound`,
  :func:`central_difference_tolerance`, :func:`complex_step_error_bound`,
  :func:`complex_step_tolerance` — steps and tolerances from the floating-point model
- :func:`check_batch_norm_gradients` — all of the above applied to :mod:`bn.functional`
- :mod:`bn.gradcheck.backward_forms` — the compact against the staged backward: agreement and traffic
- :mod:`bn.gradcheck.accuracy` — how accurate each check is, as the gradient-checking chapter states it
"""

from bn.gradcheck.batch_norm import (BatchNormGradientCheck, batch_norm_condition,
                                     batch_norm_derivative_scale, batch_norm_loss, batch_norm_output,
                                     check_batch_norm_gradients)
from bn.gradcheck.complex_step import (DEFAULT_COMPLEX_STEP, complex_step_derivative,
                                       complex_step_gradient)
from bn.gradcheck.directional import DirectionalCheck, directional_check, random_directions
from bn.gradcheck.finite_differences import central_difference, numerical_gradient
from bn.gradcheck.metrics import max_abs_error, relative_error
from bn.gradcheck.sweep import step_size_sweep
from bn.gradcheck.tolerances import (central_difference_error_bound, central_difference_tolerance,
                                     complex_step_error_bound, complex_step_tolerance,
                                     machine_epsilon, optimal_central_step)

__all__ = [
    "BatchNormGradientCheck",
    "DEFAULT_COMPLEX_STEP",
    "DirectionalCheck",
    "batch_norm_condition",
    "batch_norm_derivative_scale",
    "batch_norm_loss",
    "batch_norm_output",
    "central_difference",
    "central_difference_error_bound",
    "central_difference_tolerance",
    "check_batch_norm_gradients",
    "complex_step_derivative",
    "complex_step_error_bound",
    "complex_step_gradient",
    "complex_step_tolerance",
    "directional_check",
    "machine_epsilon",
    "max_abs_error",
    "numerical_gradient",
    "optimal_central_step",
    "random_directions",
    "relative_error",
    "step_size_sweep",
]
