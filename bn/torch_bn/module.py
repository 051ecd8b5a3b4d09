"""``BookBatchNorm``: a drop-in for ``torch.nn.BatchNorm{1,2,3}d`` built on the book's Function.

Running statistics follow PyTorch's convention: after each training batch,
``running = (1 - momentum) * running + momentum * batch`` with the *unbiased*
batch variance, and ``momentum=None`` uses ``1 / num_batches_tracked`` (the
cumulative average). Evaluation mode normalizes with the running statistics.
"""

from __future__ import annotations

import torch
from torch import nn

from bn.population.moving_average import ema_update, update_factor
from bn.torch_bn.function import book_batch_norm, channel_shape, reduce_dims

__all__ = ["BookBatchNorm", "NormBase"]


class NormBase(nn.Module):
    """What every normalization layer of the book declares, once (as PyTorch's ``_NormBase``).

    Parameters ``weight`` (ones) and ``bias`` (zeros; both ``None`` with
    ``affine=False``), then the buffers
    ``running_mean`` (zeros), the running spread named by the class attribute
    ``spread`` (ones; ``"running_var"`` here, ``"running_std"`` for Batch
    Renormalization) and ``num_batches_tracked`` (0), in that order: the order
    fixes ``state_dict`` and what a seed gives.
    """

    spread = "running_var"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None,
                 affine: bool = True) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features, **kw))
            self.bias = nn.Parameter(torch.zeros(num_features, **kw))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", torch.zeros(num_features, **kw))
        self.register_buffer(self.spread, torch.ones(num_features, **kw))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BookBatchNorm(NormBase):
    """Batch normalization over axis 1 with affine parameters and running statistics."""

    def _update_running_stats(self, x: torch.Tensor) -> None:
        dims = reduce_dims(x)
        with torch.no_grad():
            factor = update_factor(self.momentum, int(self.num_batches_tracked))
            self.num_batches_tracked += 1
            mean = x.mean(dim=dims)
            var_unbiased = x.var(dim=dims, correction=1)
            self.running_mean.copy_(ema_update(self.running_mean, mean, factor))
            self.running_var.copy_(ema_update(self.running_var, var_unbiased, factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"expected (N, {self.num_features}, *spatial), got {tuple(x.shape)}")
        if self.training:
            y = book_batch_norm(x, self.weight, self.bias, self.eps)
            self._update_running_stats(x)
            return y
        shape = channel_shape(x)
        inv_std = torch.rsqrt(self.running_var + self.eps)
        scale = (self.weight * inv_std).reshape(shape)
        shift = (self.bias - self.running_mean * self.weight * inv_std).reshape(shape)
        return x * scale + shift
