"""Noisy BN (Santurkar et al. 2018): a random per-channel affine map after each BN layer.

:class:`NoisyShift` draws ``y -> s * y + m`` anew at every training step, so the
next layer's input distribution keeps moving although BN normalized it;
:func:`add_noise_after_bn` puts one after every BN layer of a model. The
measurements that use it are in :mod:`bn.smoothness`.

Layer 4 of ``bn`` (PyTorch adapters): imports torch only.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["NoisyShift", "add_noise_after_bn", "freeze_noise", "set_noise"]


class NoisyShift(nn.Module):
    """Per-channel random affine noise ``y -> s * y + m``, fresh at every training forward pass.

    In training mode each forward pass draws, independently for every channel,
    ``s ~ U(1, scale_max)`` and ``m ~ U(-shift_max, shift_max)`` (the same for
    every example and position of the batch); in eval mode the layer is the
    identity. The draws come from the layer's own generator, seeded by ``seed``,
    so that they neither consume nor depend on the global torch RNG (a
    measurement on a deep copy leaves the training run's noise unchanged).

    ``frozen = True`` reuses the last draw (drawing once if there is none):
    measurements that compare several forward passes see the same noise.
    ``enabled = False`` makes the layer the identity in training mode too (to
    recompute the next BN layers' statistics of the noiseless network).
    """

    def __init__(self, channels: int, shift_max: float, scale_max: float, seed: int = 0) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        if shift_max < 0 or scale_max < 1:
            raise ValueError(f"need shift_max >= 0 and scale_max >= 1, got {shift_max}, {scale_max}")
        self.channels, self.shift_max, self.scale_max = channels, shift_max, scale_max
        self.generator = torch.Generator().manual_seed(seed)
        self.frozen = False
        self.enabled = True
        self.last: tuple[torch.Tensor, torch.Tensor] | None = None

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A new ``(scale, shift)`` pair, each of shape ``(channels,)``, float64 on the CPU."""
        u = torch.rand(2, self.channels, generator=self.generator, dtype=torch.float64)
        return 1 + (self.scale_max - 1) * u[0], self.shift_max * (2 * u[1] - 1)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.enabled:
            return y
        if not self.frozen or self.last is None:
            self.last = self.draw()
        scale, shift = self.last
        shape = (1, -1) + (1,) * (y.ndim - 2)
        return y * scale.to(y).view(shape) + shift.to(y).view(shape)

    def extra_repr(self) -> str:
        return f"{self.channels}, shift_max={self.shift_max}, scale_max={self.scale_max}"


def add_noise_after_bn(model: nn.Module, shift_max: float, scale_max: float, seed: int = 0
                       ) -> list[NoisyShift]:
    """Replace every BN layer of ``model`` by ``Sequential(BN, NoisyShift)``, in place.

    The k-th noise layer (in the order of ``model.modules()``) is seeded with
    ``seed + k``. Returns the noise layers. The model's other parameters, and
    so its initialization, are unchanged.
    """
    targets = [(parent, name, child) for parent in model.modules()
               for name, child in parent.named_children()
               if isinstance(child, nn.modules.batchnorm._BatchNorm)]
    if not targets:
        raise ValueError("the model has no BN layer to add noise after")
    noises = []
    for k, (parent, name, bn) in enumerate(targets):
        noise = NoisyShift(bn.num_features, shift_max, scale_max, seed + k)
        setattr(parent, name, nn.Sequential(bn, noise))
        noises.append(noise)
    return noises


def freeze_noise(model: nn.Module, frozen: bool = True) -> None:
    """Freeze (or release) every :class:`NoisyShift` of ``model``; freezing forgets the last draw."""
    for m in model.modules():
        if isinstance(m, NoisyShift):
            m.frozen = frozen
            m.last = None


def set_noise(model: nn.Module, enabled: bool) -> None:
    """Switch every :class:`NoisyShift` of ``model`` on or off (off: the identity in every mode)."""
    for m in model.modules():
        if isinstance(m, NoisyShift):
            m.enabled = enabled
