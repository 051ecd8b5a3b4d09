"""The networks of Part IV ("In practice"): a deep plain CNN and a small residual network.

Both are built from the same arguments with the normalization layer as a
choice, so a comparison changes one thing: ``norm="torch"`` uses
``torch.nn.BatchNorm2d``, ``norm="book"`` the book's own layer
(:class:`bn.torch_bn.BookBatchNorm`, built on Part II's ``autograd.Function``),
``norm="none"`` no normalization (the convolutions then get a bias).
Part V's relatives are choices too: ``"layer"`` (LayerNorm over
``(C, H, W)``, i.e. ``GroupNorm(1, C)``), ``"group"`` (``GroupNorm`` with
``groups`` groups), ``"ghost"`` (:class:`bn.torch_bn.GhostBatchNorm2d`,
``ghost_size``) and ``"renorm"`` (:class:`bn.torch_bn.BatchRenorm2d`, its
limits and schedule); their settings travel as ``norm_options``.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from bn.models.init import init_weights
from bn.normalization.layers import BatchRenorm2d, GhostBatchNorm2d
from bn.torch_bn import BookBatchNorm

Norm = Literal["torch", "book", "none", "layer", "group", "ghost", "renorm"]
NORMS: tuple[str, ...] = ("torch", "book", "none", "layer", "group", "ghost", "renorm")
# The default deep plain CNN: 8 conv layers; max-pools after the 1st, 4th and 6th keep it cheap.
PLAIN_WIDTHS: tuple[int, ...] = (16, 16, 16, 32, 32, 32, 64, 64)
PLAIN_POOL_AFTER: tuple[int, ...] = (0, 3, 5)


def make_norm(norm: str, channels: int, **options: Any) -> nn.Module:
    """The normalization layer named by ``norm`` for ``channels`` channels.

    ``options`` are the layer's settings: ``groups`` for ``"group"`` (it must
    divide ``channels``), ``ghost_size`` for ``"ghost"``, and
    :class:`bn.torch_bn.BatchRenorm2d`'s keywords for ``"renorm"``; the other
    names take none.
    """
    builders = {"torch": nn.BatchNorm2d, "book": BookBatchNorm, "none": lambda c: nn.Identity(),
                "layer": lambda c: nn.GroupNorm(1, c),
                "group": lambda c, groups: nn.GroupNorm(groups, c),
                "ghost": lambda c, ghost_size: GhostBatchNorm2d(c, ghost_size),
                "renorm": lambda c, **kw: BatchRenorm2d(c, **kw)}
    if norm not in builders:
        raise ValueError(f"unknown norm {norm!r} (expected one of {NORMS})")
    return builders[norm](channels, **options)


def is_batch_norm(module: nn.Module) -> bool:
    """True for both BN implementations the book trains with (ghost-batch BN is a ``BatchNorm2d``)."""
    return isinstance(module, (nn.modules.batchnorm._BatchNorm, BookBatchNorm))


class ConvUnit(nn.Module):
    """conv 3x3, then BN and ReLU in the order ``order``, optionally dropout first.

    ``order="bn_relu"`` is the paper's conv -> BN -> ReLU; ``"relu_bn"``
    normalizes after the nonlinearity. ``dropout`` > 0 puts a dropout layer
    in front of the convolution (the "dropout before BN" arrangement).
    ``norm_options`` go to :func:`make_norm`.
    """

    def __init__(self, c_in: int, c_out: int, norm: str = "torch", order: str = "bn_relu",
                 dropout: float = 0.0, norm_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        if order not in ("bn_relu", "relu_bn"):
            raise ValueError(f"order must be 'bn_relu' or 'relu_bn', got {order!r}")
        self.order = order
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=norm == "none")
        self.norm = make_norm(norm, c_out, **(norm_options or {}))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv(self.drop(x))
        if self.order == "bn_relu":
            return self.act(self.norm(z))
        return self.norm(self.act(z))


class PlainCNN(nn.Module):
    """A deep plain (no skip connections) CNN: conv units, two max-pools, average pool, linear.

    With the default widths it has 8 conv layers and about 90k parameters.
    ``units`` lists the conv units in order, for diagnostics. ``norm_options``
    (e.g. ``{"groups": 4}`` with ``norm="group"``) go to every unit's :func:`make_norm`.
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


def build_practice_model(kind: str, **kwargs) -> nn.Module:
    """``build_practice_model("plain", norm="book")`` or ``("resnet", zero_gamma=True)``."""
    for key in ("widths", "pool_after"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    if kind == "plain":
        return PlainCNN(**kwargs)
    if kind == "resnet":
        return SmallResNet(**kwargs)
    raise ValueError(f"unknown model kind {kind!r} (expected 'plain' or 'resnet')")
