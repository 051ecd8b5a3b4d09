"""Two of BN's relatives that PyTorch has no layer for: ghost-batch BN and Batch Renormalization.

LayerNorm and GroupNorm for conv nets are ``torch.nn.GroupNorm`` (LayerNorm over
``(C, H, W)`` with a per-channel affine map is ``GroupNorm(1, C)``); these two
are the members of the family that keep BN's batch statistics.

:class:`GhostBatchNorm2d` (Hoffer et al., 2017) splits a training batch of
``N`` into consecutive *ghost batches* of ``g`` examples (the last one
smaller when ``g`` does not divide ``N``) and applies ``torch.nn.BatchNorm2d``'s
training-mode arithmetic to each on its own: every ghost batch is normalized
by its own mean and biased variance, and the running statistics take one
update per ghost batch, in order, with PyTorch's momentum convention
(``running = (1 - momentum) * running + momentum * stat``, the unbiased
variance of that ghost batch). ``num_batches_tracked`` counts ghost batches.
In eval mode it is ``BatchNorm2d``. With ``g >= N`` it is ``BatchNorm2d``
in training too.

:class:`BatchRenorm2d` (Ioffe, 2017, Algorithm 1) is the forward pass of
:func:`bn.normalization.batch_renorm_forward` as a module with the paper's
running statistics: it keeps a running mean ``mu`` and a running standard
deviation ``sigma`` (not a variance) and updates both after each training
batch by ``mu += momentum * (mu_B - mu)``, ``sigma += momentum * (sigma_B - sigma)``,
with ``sigma_B = sqrt(var_B + eps)`` from the biased batch variance. ``r`` and
``d`` are constants for the gradient (``detach``). Eval mode outputs
``gamma * (x - mu) / sigma + beta``. The limits follow the paper's schedule,
counted in training batches ``t`` of this layer: ``r_max = 1`` and
``d_max = 0`` (plain BN) for ``t < warmup``, then both grow linearly to their
final values over ``ramp`` batches.
"""

from __future__ import annotations

import torch
from torch import nn

from bn.population.moving_average import ema_step
from bn.torch_bn.function import reduce_dims
from bn.torch_bn.module import NormBase

__all__ = ["GhostBatchNorm2d", "BatchRenorm2d", "renorm_limits"]


class GhostBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` over ghost batches of ``ghost_size`` examples in training; see the module docstring."""

    def __init__(self, num_features: int, ghost_size: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        if ghost_size < 1:
            raise ValueError(f"ghost_size must be >= 1, got {ghost_size}")
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.ghost_size = ghost_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.shape[0] <= self.ghost_size:
            return super().forward(x)
        # One BatchNorm2d call per ghost batch: each normalizes by its own statistics
        # and updates the running averages once, in order.
        return torch.cat([super(GhostBatchNorm2d, self).forward(chunk)
                          for chunk in torch.split(x, self.ghost_size)])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, ghost_size={self.ghost_size}"


def renorm_limits(t: int, r_max: float, d_max: float, warmup: int, ramp: int) -> tuple[float, float]:
    """``(r_max, d_max)`` in force at training batch ``t``: 1 and 0 before ``warmup``, linear to the final values over ``ramp``."""
    if ramp <= 0:
        frac = 1.0 if t >= warmup else 0.0
    else:
        frac = min(max((t - warmup) / ramp, 0.0), 1.0)
    return 1.0 + frac * (r_max - 1.0), frac * d_max


class BatchRenorm2d(NormBase):
    """Batch Renormalization for ``(N, C, H, W)`` (or ``(N, C)``) inputs; see the module docstring.

    Args:
        num_features: channels ``C``.
        r_max, d_max: the final clipping limits (the paper: 3 and 5).
        warmup, ramp: the schedule of the limits, in training batches; ``warmup=0,
            ramp=0`` uses the final limits from the first batch.
        momentum: the running averages' update rate (the paper's ``alpha``).
        eps: variance floor.
    """

    spread = "running_std"  # the paper keeps sigma, not a variance

    def __init__(self, num_features: int, r_max: float = 3.0, d_max: float = 5.0, warmup: int = 0,
                 ramp: int = 0, momentum: float = 0.1, eps: float = 1e-5) -> None:
        if r_max < 1 or d_max < 0:
            raise ValueError(f"need r_max >= 1 and d_max >= 0, got {r_max}, {d_max}")
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.r_max, self.d_max = float(r_max), float(d_max)
        self.warmup, self.ramp = warmup, ramp

    def limits(self) -> tuple[float, float]:
        """The limits the next training batch uses."""
        return renorm_limits(int(self.num_batches_tracked), self.r_max, self.d_max, self.warmup, self.ramp)

    def _shape(self, v: torch.Tensor, ndim: int) -> torch.Tensor:
        return v.view(1, -1, *([1] * (ndim - 2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axes = reduce_dims(x)
        if not self.training:
            x_hat = (x - self._shape(self.running_mean, x.ndim)) / self._shape(self.running_std, x.ndim)
        else:
            if x.numel() // x.shape[1] < 2:
                raise ValueError("Batch Renormalization needs at least 2 values per channel in training")
            # Batch Renorm's forward, written out on purpose: r and d correct BN's own
            # (x - mu_B) / sigma_B, and these operations, in this order, are what the committed
            # runs trained with (bit for bit). Its NumPy twin is batch_renorm_forward.
            mean_b = x.mean(dim=axes)
            var_b = x.var(dim=axes, unbiased=False)
            std_b = torch.sqrt(var_b + self.eps)
            r_max, d_max = self.limits()
            with torch.no_grad():
                r = (std_b / self.running_std).clamp(1.0 / r_max, r_max)
                d = ((mean_b - self.running_mean) / self.running_std).clamp(-d_max, d_max)
                self.running_mean.copy_(ema_step(self.running_mean, mean_b, self.momentum))
                self.running_std.copy_(ema_step(self.running_std, std_b, self.momentum))
                self.num_batches_tracked += 1
            x_hat = ((x - self._shape(mean_b, x.ndim)) / self._shape(std_b, x.ndim)
                     * self._shape(r, x.ndim) + self._shape(d, x.ndim))
        return self._shape(self.weight, x.ndim) * x_hat + self._shape(self.bias, x.ndim)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, r_max={self.r_max}, d_max={self.d_max}, warmup={self.warmup}, "
                f"ramp={self.ramp}, momentum={self.momentum}, eps={self.eps}")
