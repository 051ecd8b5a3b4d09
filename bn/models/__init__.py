"""The networks of the book, each built with or without normalization from the same arguments.

An experiment changes exactly one thing. Where BN follows a linear or convolutional
layer that layer has no bias: BN's own shift ``beta`` replaces it (a bias before BN
is subtracted away by the mean, Ioffe & Szegedy 2015, Sec. 3.2).

* :mod:`bn.models.init`: the Gaussian initialization all of them share;
* :mod:`bn.models.mlp`: the paper's Fig. 1 MLP;
* :mod:`bn.models.cnn`: a small CNN family (the CIFAR-10 experiments);
* :mod:`bn.models.placement`: a sigmoid MLP with BN before, after or without the nonlinearity;
* :mod:`bn.models.practice`: Part IV's deep plain CNN and small residual network;
* :mod:`bn.models.normalizer_free`: that residual network without BN (SkipInit, Fixup, WS + GN, NF).
"""

from __future__ import annotations

from torch import nn

from bn.models.cnn import ConvBlock, SmallCNN
from bn.models.init import ACTIVATIONS, init_std, init_weights
from bn.models.mlp import MLP, SigmoidInput, last_hidden_sigmoid_input

__all__ = ["ACTIVATIONS", "MLP", "ConvBlock", "SigmoidInput", "SmallCNN", "build_model", "count_parameters",
           "init_std", "init_weights", "last_hidden_sigmoid_input"]


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
    if kind == "residual":  # the residual networks with and without BN (bn.models.normalizer_free)
        from bn.models.normalizer_free import build_residual
        return build_residual(**kwargs)
    raise ValueError(f"unknown model kind {kind!r} (expected 'mlp', 'cnn' or 'residual')")
