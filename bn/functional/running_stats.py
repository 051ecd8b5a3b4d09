"""Running (population) statistics, updated as PyTorch's ``BatchNorm`` does in training.

PyTorch's rule, per channel, for one training batch with mean ``mu_B`` and
*unbiased* variance ``s2_B`` (divides by m - 1):

    new = (1 - factor) * old + factor * batch

where ``factor = momentum`` (default 0.1), or, with ``momentum=None``,
``factor = 1 / (batches seen so far, this one included)``: the cumulative
average of every batch statistic. PyTorch counts in the buffer
``num_batches_tracked``; here the caller passes the count *before* this batch
and adds one afterwards, which keeps the function pure. The average itself is
:func:`bn.population.moving_average.ema_update`, the one home of the update.
"""

from __future__ import annotations

import numpy as np

from bn.functional.layout import reduction_axes
from bn.functional.validation import check_batch_input, check_channel_vector, check_training_batch
from bn.population.moving_average import ema_update, update_factor


def update_running_stats(running_mean: np.ndarray, running_var: np.ndarray, x: np.ndarray,
                         momentum: float | None = 0.1, *,
                         num_batches_tracked: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """New ``(running_mean, running_var)`` after one training batch ``x``; the inputs are not modified.

    Args:
        running_mean, running_var: current estimates, shape ``(C,)``.
        x: the training batch, ``(N, C, *spatial)`` with at least 2 values per channel.
        momentum: weight of the batch statistic (PyTorch's convention:
            ``new = (1 - momentum) * old + momentum * batch``), or ``None`` for
            the cumulative average.
        num_batches_tracked: needed when ``momentum is None``: how many
            batches the running statistics already average (PyTorch's
            ``num_batches_tracked`` *before* this batch; start at 0, add 1
            after each call). With 0 the result is this batch's statistics.
            Ignored when ``momentum`` is a number, as in PyTorch.

    Returns:
        ``(mean, var)`` of shape ``(C,)``; the variance uses the unbiased
        batch variance (divide by m - 1), as PyTorch's running_var does.
    """
    x = check_batch_input(x)
    channels = x.shape[1]
    running_mean = check_channel_vector(running_mean, "running_mean", channels)
    running_var = check_channel_vector(running_var, "running_var", channels)
    check_training_batch(x)
    factor = update_factor(momentum, num_batches_tracked)

    dtype = np.result_type(x, running_mean, running_var)
    x = x.astype(dtype, copy=False)
    axes = reduction_axes(x.ndim)
    batch_mean = x.mean(axis=axes)
    batch_var_unbiased = x.var(axis=axes, ddof=1)
    f = dtype.type(factor)
    mean = ema_update(running_mean.astype(dtype), batch_mean, f)
    var = ema_update(running_var.astype(dtype), batch_var_unbiased, f)
    return mean.astype(dtype, copy=False), var.astype(dtype, copy=False)
