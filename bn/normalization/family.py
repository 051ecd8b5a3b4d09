"""BN, LayerNorm, InstanceNorm and GroupNorm as four choices of normalization axes.

For an input ``(N, C, *spatial)``:

============  ==============================  ===================================
member        statistics over                 one (mean, variance) per
============  ==============================  ===================================
batch         N and spatial                   channel
layer         C and spatial                   example
instance      spatial                         (example, channel)
group (G)     C/G channels and spatial        (example, group of channels)
============  ==============================  ===================================

Each function here is forward-only with training-mode statistics (the batch's
own), and applies the affine map each member uses in PyTorch: per channel for
batch, instance and group normalization, per element of ``x[0]`` for layer
normalization over all non-batch axes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from bn.normalization.axes import normalize_over_axes
from bn.normalization.group_norm import group_normalize
from bn.functional.layout import as_channel_column, reduction_axes
from bn.functional.validation import as_inexact_array, check_batch_input, check_channel_vector


def family_axes(member: str, ndim: int) -> tuple[int, ...]:
    """The axes ``member`` (``"batch"``, ``"layer"`` or ``"instance"``) averages over.

    Group normalization is not a fixed set of axes of ``x`` (it splits the
    channel axis) and is handled by :func:`group_norm`.

    Raises:
        ValueError: unknown member, ``ndim < 2``, or ``"instance"`` with no
            spatial axis (there would be one value per set).
    """
    if ndim < 2:
        raise ValueError(f"the family is defined for (N, C, *spatial) inputs, got ndim={ndim}")
    spatial = tuple(range(2, ndim))
    if member == "batch":
        return reduction_axes(ndim)
    if member == "layer":
        return (1, *spatial)
    if member == "instance":
        if not spatial:
            raise ValueError("instance normalization needs at least one spatial axis")
        return spatial
    raise ValueError(f"unknown member {member!r}; expected 'batch', 'layer' or 'instance' "
                     "(group normalization: use group_norm)")


def _channel_affine(x_hat: np.ndarray, gamma: np.ndarray | None,
                    beta: np.ndarray | None) -> np.ndarray:
    # gamma = 1 and beta = 0 when omitted, as PyTorch's functional forms do.
    channels = x_hat.shape[1]
    if gamma is not None:
        gamma = check_channel_vector(gamma, "gamma", channels)
        x_hat = x_hat * as_channel_column(gamma, x_hat.ndim)
    if beta is not None:
        beta = check_channel_vector(beta, "beta", channels)
        x_hat = x_hat + as_channel_column(beta, x_hat.ndim)
    return x_hat


def batch_norm(x: np.ndarray, gamma: np.ndarray | None = None, beta: np.ndarray | None = None,
               eps: float = 1e-5) -> np.ndarray:
    """Training-mode batch normalization: statistics per channel over N and spatial axes.

    The same numbers as :func:`bn.functional.batch_norm_forward` (which also
    returns the cache for its backward pass); here it is one member of the family.
    ``gamma``/``beta`` have shape ``(C,)``; ``None`` means 1 and 0.
    """
    x = check_batch_input(x)
    return _channel_affine(normalize_over_axes(x, family_axes("batch", x.ndim), eps), gamma, beta)


def layer_norm(x: np.ndarray, weight: np.ndarray | None = None, bias: np.ndarray | None = None,
               eps: float = 1e-5) -> np.ndarray:
    """Layer normalization (Ba et al., 2016): statistics per example over all other axes.

    ``weight``/``bias`` have the shape ``x.shape[1:]`` (PyTorch's ``layer_norm``
    with ``normalized_shape = x.shape[1:]``); ``None`` means 1 and 0.
    """
    x = check_batch_input(x)
    y = normalize_over_axes(x, family_axes("layer", x.ndim), eps)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is None:
            continue
        value = as_inexact_array(value, name)
        if value.shape != x.shape[1:]:
            raise ValueError(f"{name} must have shape {x.shape[1:]} (x.shape[1:]), got {value.shape}")
        y = y * value if name == "weight" else y + value
    return y


def instance_norm(x: np.ndarray, gamma: np.ndarray | None = None, beta: np.ndarray | None = None,
                  eps: float = 1e-5) -> np.ndarray:
    """Instance normalization: statistics per (example, channel) over the spatial axes.

    ``gamma``/``beta`` have shape ``(C,)``; ``None`` means 1 and 0.
    """
    x = check_batch_input(x)
    return _channel_affine(normalize_over_axes(x, family_axes("instance", x.ndim), eps), gamma, beta)


def group_norm(x: np.ndarray, num_groups: int, gamma: np.ndarray | None = None,
               beta: np.ndarray | None = None, eps: float = 1e-5) -> np.ndarray:
    """Group normalization (Wu & He, 2018) with ``num_groups`` groups of contiguous channels.

    ``gamma``/``beta`` have shape ``(C,)``; ``None`` means 1 and 0. See
    :func:`bn.normalization.group_norm.group_normalize`.
    """
    return _channel_affine(group_normalize(x, num_groups, eps), gamma, beta)


#: The four members with default parameters, as ``x -> y`` maps (group: 2 groups).
FAMILY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "batch": batch_norm,
    "layer": layer_norm,
    "instance": instance_norm,
    "group": partial(group_norm, num_groups=2),
}
