"""A small CNN family for the experiments beyond Fig. 1: conv blocks, global pooling, one classifier."""

from __future__ import annotations

import torch
from torch import nn

from bn.models.init import ACTIVATIONS, init_weights


class ConvBlock(nn.Module):
    """conv 3x3 -> [BN] -> activation -> 2x2 max-pool (halves height and width)."""

    def __init__(self, c_in: int, c_out: int, bn: bool, activation: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=not bn)
        self.norm = nn.BatchNorm2d(c_out) if bn else nn.Identity()
        self.act = ACTIVATIONS[activation]()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.act(self.norm(self.conv(x))))


class SmallCNN(nn.Module):
    """Three conv blocks, global average pooling, optional dropout, one linear classifier.

    Widths (32, 64, 128) give about 95k parameters: small enough to train a few
    epochs per CPU-minute, large enough to reach ~70 % on CIFAR-10.
    """

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128), num_classes: int = 10, bn: bool = False,
                 activation: str = "relu", dropout: float = 0.0, init_scale: float = 1.0,
                 in_channels: int = 3) -> None:
        super().__init__()
        blocks = []
        c = in_channels
        for w in widths:
            blocks.append(ConvBlock(c, w, bn, activation))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(c, num_classes)
        self.classifier.is_classifier = True
        self.bn = bn
        init_weights(self, activation, init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x).mean(dim=(2, 3))
        return self.classifier(self.dropout(h))
