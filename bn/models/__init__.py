"""The networks of the book, each built with or without normalization from the same arguments.

An experiment changes exactly one thing. Where BN follows a linear or convolutional
layer that layer has no bias: BN's own shift ``beta`` replaces it (a bias before BN
is subtracted away by the mean, Ioffe & Szegedy 2015, Sec. 3.2). One switch,
``norm``, names the normalization layer of every network (:mod:`bn.models.norms`).

* :func:`build_model` ``(kind, norm=..., **arguments)``: the one factory; ``kind``
  is ``"mlp"``, ``"cnn"``, ``"plain"`` or ``"resnet"``;
* :mod:`bn.models.init`: the Gaussian initialization all of them share;
* :mod:`bn.models.norms`: the normalization layer a name stands for;
* :mod:`bn.models.mlp`: the paper's Fig. 1 MLP;
* :mod:`bn.models.cnn`: the one conv unit, the small CNN family, the deep plain CNN;
* :mod:`bn.models.resnet`: a small residual network;
* :mod:`bn.models.placement`: a sigmoid MLP with BN before, after or without the nonlinearity.
* :mod:`bn.models.sequence`: a causal character model with BN, masked BN, LayerNorm or RMSNorm.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from bn.models.cnn import PLAIN_POOL_AFTER, PLAIN_WIDTHS, ConvBlock, ConvUnit, PlainCNN, SmallCNN
from bn.models.init import ACTIVATIONS, init_std, init_weights
from bn.models.mlp import MLP, SigmoidInput, last_hidden_sigmoid_input
from bn.models.norms import NORMS, is_batch_norm, make_norm
from bn.models.resnet import ResidualBlock, SmallResNet
from bn.models.sequence import CharCausalConv

__all__ = ["ACTIVATIONS", "KINDS", "MLP", "CharCausalConv", "NORMS", "PLAIN_POOL_AFTER", "PLAIN_WIDTHS", "ConvBlock", "ConvUnit",
           "PlainCNN", "ResidualBlock", "SigmoidInput", "SmallCNN", "SmallResNet", "build_model",
           "count_parameters", "init_std", "init_weights", "is_batch_norm", "last_hidden_sigmoid_input",
           "make_norm", "upgrade_arguments"]

KINDS: dict[str, type[nn.Module]] = {"mlp": MLP, "cnn": SmallCNN, "plain": PlainCNN, "resnet": SmallResNet,
                                     "char_conv": CharCausalConv}
# Arguments a result file stores as JSON lists that the networks take as tuples.
_TUPLES = ("widths", "pool_after", "hidden")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def upgrade_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """A model specification in today's form: the earlier ``"bn": true/false`` becomes ``"norm"``.

    Result files written before the one ``norm`` switch say ``{"kind": "cnn",
    "bn": true}``; that network is ``norm="torch"`` (``"none"`` for false),
    built with the same parameters in the same order. The input is not modified.
    """
    arguments = dict(arguments)
    if "bn" in arguments:
        bn = arguments.pop("bn")
        if not isinstance(bn, bool):
            raise TypeError(f"'bn' must be true or false, got {bn!r}")
        if "norm" in arguments:
            raise ValueError("give 'norm' or the earlier 'bn', not both")
        arguments["norm"] = "torch" if bn else "none"
    return arguments


def build_model(kind: str, **arguments: Any) -> nn.Module:
    """The network ``kind`` with ``arguments``: ``build_model("plain", norm="book")``,
    ``build_model("cnn", norm="torch", activation="sigmoid")``, ``build_model("resnet", zero_gamma=True)``.

    Specifications from result files go through :func:`upgrade_arguments` (the
    earlier ``bn=True`` is ``norm="torch"``), and their lists become tuples.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r} (expected one of {tuple(KINDS)})")
    arguments = upgrade_arguments(arguments)
    for key in _TUPLES:
        if key in arguments:
            arguments[key] = tuple(arguments[key])
    return KINDS[kind](**arguments)
