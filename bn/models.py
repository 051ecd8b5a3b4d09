"""The networks of the experiments: the paper's Fig. 1 MLP and a small CNN family.

Every model is built with or without batch normalization from the same
arguments, so that an experiment changes exactly one thing. Where BN follows a
linear or convolutional layer that layer has no bias: BN's own shift ``beta``
replaces it (a bias before BN is subtracted away by the mean, Ioffe & Szegedy 2015, Sec. 3.2).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


def init_std(fan_in: int, activation: str, init_scale: float = 1.0) -> float:
    """Standard deviation of the Gaussian initial weights.

    He init (``sqrt(2/fan_in)``) for ReLU and LeCun init (``sqrt(1/fan_in)``) for
    sigmoid keep the forward signal's scale roughly constant through depth
    (He et al. 2015); ``init_scale`` multiplies it for the initialization sweep.
    """
    gain = 2.0 if activation == "relu" else 1.0
    return init_scale * math.sqrt(gain / fan_in)


def _init_weights(model: nn.Module, activation: str, init_scale: float) -> None:
    """Gaussian weights with :func:`init_std`, zero biases; BN starts as gamma=1, beta=0.

    The classifier layer is scaled like the hidden layers, with gain 1 (no nonlinearity follows).
    """
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            fan_in = m.weight[0].numel()
            act = "linear" if getattr(m, "is_classifier", False) else activation
            nn.init.normal_(m.weight, 0.0, init_std(fan_in, act, init_scale))
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class MLP(nn.Module):
    """The paper's Fig. 1 network: fully connected hidden layers, each optionally followed by BN.

    ``forward`` takes images of any shape ``(N, ...)`` and flattens them.
    """

    def __init__(self, in_features: int = 3 * 32 * 32, hidden: tuple[int, ...] = (100, 100, 100),
                 num_classes: int = 10, bn: bool = False, activation: str = "sigmoid",
                 init_scale: float = 1.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        self.pre_bn: list[nn.Linear] = []
        self.norms: list[nn.Module] = []
        for h in hidden:
            lin = nn.Linear(width, h, bias=not bn)
            norm = nn.BatchNorm1d(h) if bn else nn.Identity()
            layers += [lin, norm, ACTIVATIONS[activation]()]
            self.pre_bn.append(lin)
            self.norms.append(norm)
            width = h
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, num_classes)
        self.classifier.is_classifier = True
        self.bn = bn
        _init_weights(self, activation, init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.flatten(1)))


@dataclass
class SigmoidInput:
    """Inputs of one hidden unit's nonlinearity on a batch.

    ``z``: the linear layer's output; ``xhat``: z normalized with the batch's own
    mean and variance (None without BN); ``sigmoid_input``: what the nonlinearity
    receives, ``gamma * xhat + beta`` with BN and ``z`` without.
    """

    z: torch.Tensor
    xhat: torch.Tensor | None
    sigmoid_input: torch.Tensor


@torch.no_grad()
def last_hidden_sigmoid_input(model: MLP, x: torch.Tensor, unit: int = 0) -> SigmoidInput:
    """Record the input to unit ``unit`` of the last hidden layer's nonlinearity on batch ``x``.

    The network runs its own forward pass in training mode, so the BN arm is
    normalized with the batch statistics of ``x`` (the training-time transform the
    paper plots in Fig. 1); it runs on a copy, so the model's running averages
    are not touched. Forward hooks on the last linear layer and the last BN read
    ``z`` and the nonlinearity's input.
    """
    if not model.pre_bn:
        raise ValueError("model has no hidden layer")
    probe = copy.deepcopy(model).train()
    seen: dict[str, torch.Tensor] = {}
    probe.pre_bn[-1].register_forward_hook(lambda module, args, out: seen.update(z=out))
    probe.norms[-1].register_forward_hook(lambda module, args, out: seen.update(sigmoid_input=out))
    probe(x)
    z, a = seen["z"], seen["sigmoid_input"]
    # x-hat is BN's output before gamma and beta: the same kernel without the affine step.
    xhat = F.batch_norm(z, None, None, training=True, eps=probe.norms[-1].eps) if model.bn else None
    return SigmoidInput(z=z[:, unit].clone(), xhat=None if xhat is None else xhat[:, unit].clone(),
                        sigmoid_input=a[:, unit].clone())


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
        _init_weights(self, activation, init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x).mean(dim=(2, 3))
        return self.classifier(self.dropout(h))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_model(kind: str, **kwargs) -> nn.Module:
    """``build_model("mlp", bn=True)`` or ``build_model("cnn", bn=False, activation="sigmoid", ...)``."""
    if kind == "mlp":
        return MLP(**kwargs)
    if kind == "cnn":
        if "widths" in kwargs:
            kwargs["widths"] = tuple(kwargs["widths"])
        return SmallCNN(**kwargs)
    raise ValueError(f"unknown model kind {kind!r} (expected 'mlp' or 'cnn')")
