"""A small residual network: a stem conv unit, residual blocks, average pool, linear."""

from __future__ import annotations

import torch
from torch import nn

from bn.models.cnn import ConvUnit
from bn.models.init import init_weights
from bn.models.norms import make_norm


class ResidualBlock(nn.Module):
    """x + BN(conv(ReLU(BN(conv(x))))), then ReLU; ``zero_gamma`` starts the last BN's gamma at 0.

    With gamma = 0 the block is the identity at initialization (Goyal et al. 2017).
    """

    def __init__(self, channels: int, norm: str = "torch", zero_gamma: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = make_norm(norm, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = make_norm(norm, channels)
        self.zero_gamma = zero_gamma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(h)))


class SmallResNet(nn.Module):
    """Stem conv unit at 32x32, max-pool, ``blocks`` residual blocks at 16x16, average pool, linear."""

    def __init__(self, width: int = 32, blocks: int = 3, norm: str = "torch",
                 zero_gamma: bool = False, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if norm == "none":
            raise ValueError("SmallResNet needs a BN layer (its blocks end in one)")
        self.stem = ConvUnit(in_channels, width, norm)
        self.pool = nn.MaxPool2d(2)
        self.blocks = nn.Sequential(*[ResidualBlock(width, norm, zero_gamma) for _ in range(blocks)])
        self.classifier = nn.Linear(width, num_classes)
        self.classifier.is_classifier = True
        init_weights(self, "relu")  # He-normal; the classifier gets gain 1
        if zero_gamma:
            for b in self.blocks:
                nn.init.zeros_(b.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.pool(self.stem(x)))
        return self.classifier(h.mean(dim=(2, 3)))
