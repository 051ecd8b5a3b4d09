"""The convolutional networks: one conv unit, the small CNN family of the experiments, the deep plain CNN.

Every network here is built from :class:`ConvUnit` (conv 3x3, then the
normalization layer named by ``norm`` and the nonlinearity), so that a
comparison changes one thing.

* :class:`SmallCNN`: blocks of conv units, each ending in a max-pool, global
  average pooling, optional dropout, one classifier (the CIFAR-10 experiments
  and synchronized BN);
* :class:`PlainCNN`: a deep plain CNN of 8 units (training in practice, the
  normalization family in training, smoothness, weight decay, training only BN).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from bn.models.init import ACTIVATIONS, init_weights
from bn.models.norms import make_norm

# The default deep plain CNN: 8 conv layers; max-pools after the 1st, 4th and 6th keep it cheap.
PLAIN_WIDTHS: tuple[int, ...] = (16, 16, 16, 32, 32, 32, 64, 64)
PLAIN_POOL_AFTER: tuple[int, ...] = (0, 3, 5)


class ConvUnit(nn.Module):
    """conv 3x3, then the norm layer and the nonlinearity in the order ``order``, optionally dropout first.

    ``order="bn_relu"`` is the paper's conv -> BN -> nonlinearity; ``"relu_bn"``
    normalizes after the nonlinearity. ``dropout`` > 0 puts a dropout layer
    in front of the convolution (the "dropout before BN" arrangement). The
    convolution has a bias only with ``norm="none"`` (BN's shift replaces it).
    ``norm_options`` go to :func:`bn.models.norms.make_norm`.
    """

    def __init__(self, c_in: int, c_out: int, norm: str = "torch", order: str = "bn_relu",
                 dropout: float = 0.0, norm_options: dict[str, Any] | None = None,
                 activation: str = "relu") -> None:
        super().__init__()
        if order not in ("bn_relu", "relu_bn"):
            raise ValueError(f"order must be 'bn_relu' or 'relu_bn', got {order!r}")
        self.order = order
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=norm == "none")
        self.norm = make_norm(norm, c_out, **(norm_options or {}))
        self.act = ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv(self.drop(x))
        if self.order == "bn_relu":
            return self.act(self.norm(z))
        return self.norm(self.act(z))


class ConvBlock(ConvUnit):
    """A :class:`ConvUnit`, ``convs - 1`` more units (``more``), then a 2x2 max-pool (halves height and width)."""

    def __init__(self, c_in: int, c_out: int, norm: str, activation: str, convs: int = 1) -> None:
        if convs < 1:
            raise ValueError(f"a block needs at least one convolution, got convs={convs}")
        super().__init__(c_in, c_out, norm, activation=activation)
        # The block's further units (VGG's "2 x conv" blocks); empty for one conv per block.
        self.more = nn.Sequential(*[ConvUnit(c_out, c_out, norm, activation=activation)
                                    for _ in range(convs - 1)])
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.more(super().forward(x)))


class SmallCNN(nn.Module):
    """Conv blocks, global average pooling, optional dropout, one linear classifier.

    Widths (32, 64, 128) with one conv per block give about 95k parameters;
    widths (16, 32, 64, 128) with ``convs_per_block=2`` give the 8-conv plain
    VGG-style net of the CIFAR-10 experiments (about 290k parameters), deep
    enough that training without BN is delicate.
    """

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128), num_classes: int = 10, norm: str = "none",
                 activation: str = "relu", dropout: float = 0.0, init_scale: float = 1.0,
                 in_channels: int = 3, convs_per_block: int = 1) -> None:
        super().__init__()
        blocks = []
        c = in_channels
        for w in widths:
            blocks.append(ConvBlock(c, w, norm, activation, convs_per_block))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(c, num_classes)
        self.classifier.is_classifier = True
        self.norm = norm
        init_weights(self, activation, init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x).mean(dim=(2, 3))
        return self.classifier(self.dropout(h))


class PlainCNN(nn.Module):
    """A deep plain (no skip connections) CNN: conv units, max-pools, average pool, linear.

    With the default widths it has 8 conv layers and about 90k parameters.
    ``units`` lists the conv units in order, for diagnostics. ``norm_options``
    (e.g. ``{"groups": 4}`` with ``norm="group"``) go to every unit's norm layer.
    """

    def __init__(self, widths: tuple[int, ...] = PLAIN_WIDTHS,
                 pool_after: tuple[int, ...] = PLAIN_POOL_AFTER, norm: str = "torch",
                 order: str = "bn_relu", dropout: float = 0.0, num_classes: int = 10,
                 in_channels: int = 3, norm_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        self.units: list[ConvUnit] = []
        c = in_channels
        for i, w in enumerate(widths):
            unit = ConvUnit(c, w, norm, order, dropout if i > 0 else 0.0, norm_options)
            layers.append(unit)
            self.units.append(unit)
            if i in pool_after:
                layers.append(nn.MaxPool2d(2))
            c = w
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)
        self.classifier.is_classifier = True
        init_weights(self, "relu")  # He-normal; the classifier gets gain 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(2, 3)))
