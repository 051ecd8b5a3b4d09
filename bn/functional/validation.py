"""Input checks shared by every function of :mod:`bn.functional`.

Each check raises one clear error: ``TypeError`` for a wrong kind of value
(non-floating dtype, non-number ``eps``), ``ValueError`` for a right kind with
a wrong value (rank, shape, ``eps <= 0``, NaN/inf, too few values per channel).

Accepted dtypes are the *inexact* ones: real floating (float16/32/64) and
complex (complex64/128). Complex input exists for one purpose, complex-step
differentiation (:mod:`bn.gradcheck.complex_step`): every formula in this
package is written with ``x * x`` rather than ``abs(x) ** 2`` so that it is
the analytic continuation of the real function.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

#: PyTorch's wording for a training batch with a single value per channel.
TOO_FEW_VALUES_MESSAGE = "Expected more than 1 value per channel when training, got input size {shape}"


def as_inexact_array(value: Any, name: str) -> np.ndarray:
    """``value`` as an ndarray of a floating or complex dtype; TypeError otherwise.

    Integers and booleans are rejected rather than silently promoted: a BN
    input of integer dtype is almost always a forgotten ``/ 255``.
    """
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.inexact):
        raise TypeError(f"{name} must have a floating dtype (float16/32/64, or complex for "
                        f"complex-step checks), got dtype {arr.dtype}")
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """ValueError if ``arr`` holds a NaN or an infinity (they would silently poison a channel)."""
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")


def check_eps(eps: Any) -> float:
    """``eps`` as a float; TypeError if not a real number, ValueError unless finite and > 0."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a real number, got {type(eps).__name__}")
    eps = float(eps)
    if not np.isfinite(eps) or eps <= 0.0:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    return eps


def check_batch_input(x: Any, name: str = "x") -> np.ndarray:
    """A BN input: inexact dtype, rank >= 2 ``(N, C, *spatial)``, all finite."""
    arr = as_inexact_array(x, name)
    if arr.ndim < 2:
        raise ValueError(f"{name} must have shape (N, C) or (N, C, *spatial), got {arr.ndim}-D "
                         f"input of shape {arr.shape}")
    check_finite(arr, name)
    return arr


def check_channel_vector(value: Any, name: str, channels: int) -> np.ndarray:
    """A per-channel parameter or statistic: inexact dtype, shape exactly ``(channels,)``, finite."""
    arr = as_inexact_array(value, name)
    if arr.shape != (channels,):
        raise ValueError(f"{name} must have shape ({channels},) to match the {channels} channels "
                         f"of the input, got shape {arr.shape}")
    check_finite(arr, name)
    return arr


def values_per_channel(shape: tuple[int, ...]) -> int:
    """How many values each channel's statistics average over: N times the spatial size."""
    return int(np.prod(shape)) // shape[1] if shape[1] else 0


def check_training_batch(arr: np.ndarray) -> None:
    """ValueError (PyTorch's message) unless every channel has at least 2 values.

    With one value per channel the batch variance is 0 and the output is
    ``beta`` whatever the input: the gradient to ``x`` vanishes, and the
    unbiased variance used by the running statistics divides by zero.
    """
    if values_per_channel(arr.shape) < 2:
        raise ValueError(TOO_FEW_VALUES_MESSAGE.format(shape=tuple(arr.shape)))


def check_running_var(running_var: np.ndarray, eps: float) -> None:
    """ValueError if ``running_var + eps`` is not positive (the square root would be NaN)."""
    if np.any(np.real(running_var) + eps <= 0):
        raise ValueError("running_var + eps must be > 0 in every channel")


def check_training_inputs(x: Any, gamma: Any, beta: Any, eps: Any
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.dtype]:
    """Validate the arguments of a training-mode forward pass (batch statistics).

    Returns ``(x, gamma, beta, eps, dtype)`` with the arrays checked and ``dtype``
    the result dtype of ``x, gamma, beta``.
    """
    x = check_batch_input(x)
    channels = x.shape[1]
    gamma = check_channel_vector(gamma, "gamma", channels)
    beta = check_channel_vector(beta, "beta", channels)
    eps = check_eps(eps)
    check_training_batch(x)
    return x, gamma, beta, eps, np.result_type(x, gamma, beta)


def check_inference_inputs(x: Any, gamma: Any, beta: Any, running_mean: Any, running_var: Any,
                           eps: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                              float, np.dtype]:
    """Validate the arguments of an eval-mode transform that uses running statistics.

    Returns ``(x, gamma, beta, running_mean, running_var, eps, dtype)`` with the
    arrays checked and ``dtype`` the result dtype of all array inputs.
    """
    x = check_batch_input(x)
    channels = x.shape[1]
    gamma = check_channel_vector(gamma, "gamma", channels)
    beta = check_channel_vector(beta, "beta", channels)
    running_mean = check_channel_vector(running_mean, "running_mean", channels)
    running_var = check_channel_vector(running_var, "running_var", channels)
    eps = check_eps(eps)
    check_running_var(running_var, eps)
    dtype = np.result_type(x, gamma, beta, running_mean, running_var)
    return x, gamma, beta, running_mean, running_var, eps, dtype
