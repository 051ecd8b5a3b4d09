"""The paper's Fig. 1 network, a fully connected MLP, and a probe of its last nonlinearity's input."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bn.models.init import ACTIVATIONS, init_weights
from bn.models.norms import make_norm


class MLP(nn.Module):
    """The paper's Fig. 1 network: fully connected hidden layers, each optionally followed by BN.

    ``norm`` is ``"none"``, ``"torch"`` (``BatchNorm1d``) or ``"book"``
    (:func:`bn.models.norms.make_norm` with ``dims=1``). ``forward`` takes
    images of any shape ``(N, ...)`` and flattens them.
    """

    def __init__(self, in_features: int = 3 * 32 * 32, hidden: tuple[int, ...] = (100, 100, 100),
                 num_classes: int = 10, norm: str = "none", activation: str = "sigmoid",
                 init_scale: float = 1.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        self.pre_bn: list[nn.Linear] = []
        self.norms: list[nn.Module] = []
        for h in hidden:
            lin = nn.Linear(width, h, bias=norm == "none")
            layer = make_norm(norm, h, dims=1)
            layers += [lin, layer, ACTIVATIONS[activation]()]
            self.pre_bn.append(lin)
            self.norms.append(layer)
            width = h
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, num_classes)
        self.classifier.is_classifier = True
        self.norm = norm
        init_weights(self, activation, init_scale)

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
def last_hidden_sigmoid_input(model: MLP, x: torch.Tensor, unit: int | None = 0) -> SigmoidInput:
    """Record the input to unit ``unit`` of the last hidden layer's nonlinearity on batch ``x``
    (``unit=None``: every unit, as ``(N, units)`` tensors).

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
    xhat = F.batch_norm(z, None, None, training=True, eps=probe.norms[-1].eps) if model.norm != "none" else None
    cols = slice(None) if unit is None else unit
    return SigmoidInput(z=z[:, cols].clone(), xhat=None if xhat is None else xhat[:, cols].clone(),
                        sigmoid_input=a[:, cols].clone())
