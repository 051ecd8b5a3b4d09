"""Batch normalization in pure NumPy: forward/backward pairs with an explicit cache.

Layer 1 of ``bn``: imports NumPy only (never torch), so it runs anywhere.

Public API:

- :func:`batch_norm_forward` ``(x, gamma, beta, eps) -> (y, cache)``, training mode
- :func:`batch_norm_backward` ``(dy, cache) -> (dx, dgamma, dbeta)``, compact closed form
- :func:`batch_norm_backward_staged` ``(dy, cache) -> (dx, dgamma, dbeta)``, graph node by node
- :func:`batch_norm_inference` ``(x, gamma, beta, running_mean, running_var, eps) -> y``
- :func:`update_running_stats` ``(running_mean, running_var, x, momentum, *, num_batches_tracked) -> (mean, var)``
- :func:`fold_batch_norm` ``(weight, bias, gamma, beta, running_mean, running_var, eps) -> (weight, bias)``

Imported by name: :mod:`bn.functional.moments`, the moments of a normalized batch against
their exact values.

Inputs may be float16/32/64 or complex (complex for complex-step derivative
checks only). Each function computes in the NumPy result dtype of its array
inputs: float32 inputs give float32 outputs (NumPy accumulates float16 means
in float32 internally), and mixing float32 with float64 gives float64.
"""

from bn.functional.backward import batch_norm_backward
from bn.functional.backward_staged import batch_norm_backward_staged
from bn.functional.folding import fold_batch_norm
from bn.functional.forward import BatchNormCache, batch_norm_forward
from bn.functional.inference import batch_norm_inference
from bn.functional.running_stats import update_running_stats

__all__ = [
    "BatchNormCache",
    "batch_norm_backward",
    "batch_norm_backward_staged",
    "batch_norm_forward",
    "batch_norm_inference",
    "fold_batch_norm",
    "update_running_stats",
]
