"""Batch normalization over the real positions of padded sequences only.

Sequences of different lengths are padded into one tensor ``(batch, channels, time)``.
``nn.BatchNorm1d`` takes each channel's mean and variance over every ``(b, t)``
position, padding included, so the statistics depend on how much padding the batch
happens to carry. :class:`MaskedBatchNorm1d` takes them over the positions where
``mask`` is True, and updates its running statistics from those, in PyTorch's
convention (``running = (1 - momentum) * running + momentum * batch``, the unbiased
variance in the running estimate, the biased one in the normalization).
"""

from __future__ import annotations

import torch
from torch import nn


class MaskedBatchNorm1d(nn.Module):
    """BN over ``(batch, channels, time)`` whose statistics count only the positions ``mask`` marks.

    ``forward(x, mask)`` with ``mask`` of shape ``(batch, time)`` (True = real position);
    ``mask=None`` counts every position and then matches ``nn.BatchNorm1d``. Padded
    positions are normalized with the same statistics (their outputs are returned, not zeroed).
    In eval mode the running statistics are used and the mask does not matter.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != self.num_features:
            raise ValueError(f"expected (batch, {self.num_features}, time), got {tuple(x.shape)}")
        shape = (1, -1, 1)
        if not self.training:
            mean, var = self.running_mean, self.running_var
        else:
            w = torch.ones_like(x[:, :1]) if mask is None else mask[:, None, :].to(x.dtype)
            n = w.sum()
            if n < 2:
                raise ValueError("masked BN needs at least 2 real positions in training mode")
            mean = (x * w).sum(dim=(0, 2)) / n
            var = (((x - mean.view(shape)) ** 2) * w).sum(dim=(0, 2)) / n
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean.detach())
                self.running_var.mul_(1 - m).add_(m * var.detach() * n / (n - 1))
                self.num_batches_tracked += 1
        xhat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        return xhat * self.weight.view(shape) + self.bias.view(shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
