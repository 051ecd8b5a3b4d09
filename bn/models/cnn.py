"""A small CNN family for the experiments beyond Fig. 1: conv blocks, global pooling, one classifier."""

from __future__ import annotations

import torch
from torch import nn

from bn.models.init import ACTIVATIONS, init_weights


def conv_unit(c_in: int, c_out: int, bn: bool, activation: str) -> nn.Sequential:
    """conv 3x3 -> [BN] -> activation (the conv has a bias only without BN)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=not bn),
                         nn.BatchNorm2d(c_out) if bn else nn.Identity(), ACTIVATIONS[activation]())


class ConvBlock(nn.Module):
    """conv 3x3 -> [BN] -> activation, ``convs`` times, then a 2x2 max-pool (halves height and width)."""

    def __init__(self, c_in: int, c_out: int, bn: bool, activation: str, convs: int = 1) -> None:
        super().__init__()
        if convs < 1:
            raise ValueError(f"a block needs at least one convolution, got convs={convs}")
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=not bn)
        self.norm = nn.BatchNorm2d(c_out) if bn else nn.Identity()
        self.act = ACTIVATIONS[activation]()
        # The block's further units (VGG's "2 x conv" blocks); empty for the 3-block net of Part V.
        self.more = nn.Sequential(*[conv_unit(c_out, c_out, bn, activation) for _ in range(convs - 1)])
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.more(self.act(self.norm(self.conv(x)))))


class SmallCNN(nn.Module):
    """Conv blocks, global average pooling, optional dropout, one linear classifier.

    Widths (32, 64, 128) with one conv per block give about 95k parameters (Part V);
    widths (16, 32, 64, 128) with ``convs_per_block=2`` give the 8-conv plain VGG-style
    net of Part III (about 290k parameters), deep enough that training without BN is
    delicate.
    """

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128), num_classes: int = 10, bn: bool = False,
                 activation: str = "relu", dropout: float = 0.0, init_scale: float = 1.0,
                 in_channels: int = 3, convs_per_block: int = 1) -> None:
        super().__init__()
        blocks = []
        c = in_channels
        for w in widths:
            blocks.append(ConvBlock(c, w, bn, activation, convs_per_block))
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
